"""``changebot validate``: do the governed files load and have the right shape?"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from changebot.adapters.git.reader import inside
from changebot.cli.common import add_format, add_repo, parse_now, wants_colour, write_output
from changebot.core.documents import layout
from changebot.core.schema.gate import file_findings
from changebot.errors import RepositoryError
from changebot.model import GateId, PullRequest, Severity, notice
from changebot.render.json import finding_to_json
from changebot.render.md import findings_table
from changebot.render.text import render_findings
from changebot.usecases import plan as planning

HELP = "check that .maestro files load and match their schemas"
DESCRIPTION = """\
Load every file changebot governs in the working tree (or plain directory) and
check it against its JSON Schema and the cross-file rules. With PATHS, report
only on those files (they must be inside --repo).

exit status: 0 no errors (warnings allowed), 1 errors found, 2 could not run

examples:
  changebot validate
  changebot validate --repo examples/payments \\
      .maestro/changes/20260112-refund-webhooks.yaml
  changebot validate --format sarif -o changebot.sarif
"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``validate`` subcommand."""
    parser = sub.add_parser(
        "validate", help=HELP, description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_repo(parser)
    add_format(parser, ("text", "markdown", "json", "sarif"))
    parser.add_argument("paths", nargs="*", metavar="PATH", help="only report on these files")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Validate and print the findings."""
    root: Path = args.repo
    only = {inside(root, p) for p in args.paths}
    co = planning.checkout(root)
    missing = sorted(p for p in only if p not in co.head.paths)
    if missing:
        raise RepositoryError(f"{missing[0]}: no such file in {root}")
    ctx = planning.context(co, PullRequest(), parse_now(None))
    findings = [f for f in file_findings(ctx, planning.engines(ctx)) if not only or f.path in only]
    findings.extend(
        notice("not-governed", "changebot does not read this file (see 'What changebot reads' in the README)", p)
        for p in sorted(only)
        if not layout.matches(p, layout.READ)
    )
    if args.format == "sarif":
        from changebot.render.sarif import render_sarif_findings  # noqa: PLC0415 - lazy: only for sarif

        text = render_sarif_findings(findings, ctx.settings.mode(GateId.SCHEMA))
    elif args.format == "json":
        text = json.dumps({"findings": [finding_to_json(f) for f in findings]}, indent=2) + "\n"
    elif args.format == "markdown":
        # a header with no rows renders as an empty table: say so in words instead
        text = (
            "\n".join(findings_table(tuple(findings))) + "\n"
            if findings
            else "No findings: 0 error(s), 0 warning(s).\n"
        )
    else:
        text = render_findings(findings, colour=wants_colour(args.output))
    write_output(text, args.output)
    return 1 if any(f.severity is Severity.ERROR for f in findings) else 0
