"""``changebot init``: scaffold a repository for changebot, idempotently.

Writes ``.maestro/changebot.yaml`` (every setting commented, with its default, and a ``yaml-language-server``
modeline naming its JSON Schema), the workflow ``.github/workflows/changebot.yml`` (the same as
``examples/workflows/changebot.yml``), and the editor mapping from every governed file to its schema in
``.vscode/settings.json``. A file that exists is left as it is unless ``--force``; an existing
``.vscode/settings.json`` only gains the mappings it lacks. Running it twice changes nothing the second time.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from changebot import __version__
from changebot.cli.common import add_repo, write_output
from changebot.cli.init_templates import SETTINGS_TEMPLATE, WORKFLOW_TEMPLATE
from changebot.core.documents import layout
from changebot.core.documents.schema import KINDS
from changebot.errors import UsageError

HELP = "scaffold .maestro/changebot.yaml, the workflow and the editor schema mapping (idempotent)"
DESCRIPTION = """\
Write what a repository needs to adopt changebot:

  .maestro/changebot.yaml            the settings, every key commented with
                                     its default (read from the base branch)
  .github/workflows/changebot.yml    the GitHub Action's workflow
  .vscode/settings.json              each governed file's JSON Schema, for
                                     editors with the YAML and JSON servers

An existing file is never overwritten without --force (an existing
.vscode/settings.json only gains the mappings it lacks); running it again
changes nothing.

exit status: 0 done (files kept are listed), 2 could not write

examples:
  changebot init
  changebot init --repo ../service --force
"""
VSCODE = ".vscode/settings.json"
WORKFLOW = ".github/workflows/changebot.yml"


def schema_url(name: str) -> str:
    """Where the schema ``name`` of this changebot version is published (the release tag's raw file)."""
    return f"https://raw.githubusercontent.com/changebot/changebot/v{__version__}/schemas/{name}.schema.json"


def editor_settings() -> dict[str, Any]:
    """``yaml.schemas`` (schema URL -> globs) and ``json.schemas`` for every file kind changebot validates."""
    yaml_map: dict[str, list[str]] = {}
    json_map: dict[str, list[str]] = {}
    for pattern, name in KINDS:
        target = json_map if pattern.endswith(".json") else yaml_map
        target.setdefault(schema_url(name), []).append(pattern)
    return {
        "yaml.schemas": yaml_map,
        "json.schemas": [{"fileMatch": globs, "url": url} for url, globs in json_map.items()],
    }


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``init`` subcommand."""
    parser = sub.add_parser(
        "init", help=HELP, description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_repo(parser)
    parser.add_argument("--force", action="store_true", help="overwrite files that exist and differ")
    parser.set_defaults(run=run)


def _write(root: Path, rel: str, text: str, force: bool) -> str:
    path = root / rel
    if path.is_file():
        if path.read_text(encoding="utf-8", errors="replace") == text:
            return f"unchanged {rel}"
        if not force:
            return f"kept      {rel} (it exists and differs; --force overwrites it)"
    path.parent.mkdir(parents=True, exist_ok=True)
    existed = path.is_file()
    write_output(text, str(path))
    return f"{'replaced' if existed else 'created '}  {rel}"


def _merged_vscode(root: Path, force: bool) -> tuple[str, str | None]:
    """The new ``.vscode/settings.json`` text, or ``None`` to leave it, and the line to print."""
    path = root / VSCODE
    wanted = editor_settings()
    if not path.is_file() or force:
        return json.dumps(wanted, indent=2) + "\n", None
    try:
        current = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        return "", f"kept      {VSCODE} (not plain JSON; add the mappings by hand or use --force)"
    if not isinstance(current, dict):
        return "", f"kept      {VSCODE} (not a JSON object; --force overwrites it)"
    merged = dict(current)
    yaml_map = dict(merged.get("yaml.schemas") or {})
    for url, globs in wanted["yaml.schemas"].items():
        yaml_map.setdefault(url, globs)
    merged["yaml.schemas"] = yaml_map
    json_list = list(merged.get("json.schemas") or [])
    known = {entry.get("url") for entry in json_list if isinstance(entry, dict)}
    json_list.extend(entry for entry in wanted["json.schemas"] if entry["url"] not in known)
    merged["json.schemas"] = json_list
    return json.dumps(merged, indent=2) + "\n", None


def run(args: argparse.Namespace) -> int:
    """Write the files and say what happened to each."""
    root: Path = args.repo
    if not root.is_dir():
        raise UsageError(f"--repo {root}: no such directory")
    lines = [
        _write(root, layout.SETTINGS, SETTINGS_TEMPLATE.format(schema=schema_url("changebot")), args.force),
        _write(root, WORKFLOW, WORKFLOW_TEMPLATE, args.force),
    ]
    text, kept = _merged_vscode(root, args.force)
    lines.append(kept if kept is not None else _write(root, VSCODE, text, True))
    print("\n".join(lines))
    if any(line.startswith("kept") for line in lines):
        print("changebot init: files that exist were kept; compare them with 'changebot init --force' on a branch.")
    return 0
