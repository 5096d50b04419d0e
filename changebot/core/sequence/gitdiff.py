"""git's diff format -> ``FileChange`` values. Pure: text in, data and findings out.

One ``diff --git`` section per file. Its *extended* header lines (``rename from``/``rename to``, ``copy``,
``similarity index``, ``new file mode``, ``deleted file mode``, ``old mode``/``new mode``, ``index``, ``GIT
binary patch``) and C-quoted names (``"a/caf\\303\\251.md"``) are read here, because ``unidiff`` does not
model them. Measured in ``benchmarks/bench_sequence.py``, unidiff leaves quoted names undecoded, infers
renames from the ``diff --git`` names only (no ``rename from``, ``copy from``, ``similarity index``),
mis-splits a ``diff --git`` line whose path contains `` b/`` and then raises "Target without source", and does
not check a binary payload. The ``---``/``+++``/``@@`` part of each section goes to ``unidiff``, which checks
hunk line counts, ``\\ No newline at end of file`` markers and gives the lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from changebot.core.sequence.binary import inflated_size
from changebot.model import Finding, error

ChangeKind = Literal["add", "delete", "modify", "rename", "copy"]
_INDEX = re.compile(r"^index (?P<old>[0-9a-f]+)\.\.(?P<new>[0-9a-f]+)(?: (?P<mode>\d{6}))?$")
_BINARY_LEN = re.compile(r"^(?:literal|delta) (?P<size>\d+)$")
_PATH_KEYS = ("rename from ", "rename to ", "copy from ", "copy to ")
_VALUE_KEYS = ("new file mode ", "deleted file mode ", "old mode ", "new mode ", "similarity index ")
_ESCAPES = {"a": 7, "b": 8, "t": 9, "n": 10, "v": 11, "f": 12, "r": 13, '"': 34, "\\": 92}


@dataclass(frozen=True)
class Hunk:
    """One ``@@`` hunk: where it applies, and its removed and added lines (context dropped)."""

    old_start: int
    old_length: int
    new_start: int
    new_length: int
    line: int  # 1-based line of the ``@@`` header in the patch file
    removed: tuple[str, ...] = ()
    added: tuple[str, ...] = ()


@dataclass(frozen=True)
class FileChange:
    """One file in a patch. ``old_path`` is ``None`` for an added file, ``new_path`` for a deleted one."""

    kind: ChangeKind
    old_path: str | None
    new_path: str | None
    line: int  # 1-based line of the ``diff --git`` header
    old_mode: str | None = None
    new_mode: str | None = None
    old_blob: str | None = None
    new_blob: str | None = None
    similarity: int | None = None
    binary: bool = False
    hunks: tuple[Hunk, ...] = ()
    inflated: int = 0  # bytes git allocates for a binary payload (``changebot.core.sequence.binary``)

    @property
    def paths(self) -> tuple[str, ...]:
        """Every path this change touches (both names of a rename or copy)."""
        return tuple(dict.fromkeys(p for p in (self.old_path, self.new_path) if p is not None))

    @property
    def path(self) -> str:
        """The path after the change (before it, for a deletion): the name ``git apply --numstat`` prints."""
        return self.new_path or self.old_path or ""

    @property
    def added(self) -> int:
        """Lines added."""
        return sum(len(h.added) for h in self.hunks)

    @property
    def removed(self) -> int:
        """Lines removed."""
        return sum(len(h.removed) for h in self.hunks)

    def signature(self) -> tuple[object, ...]:
        """What this change does, without line numbers or context: equal for equal changes."""
        return (
            self.old_path,
            self.new_path,
            self.old_mode if self.old_mode != self.new_mode else None,
            self.new_mode if self.old_mode != self.new_mode else None,
            (self.old_blob, self.new_blob) if self.binary else None,
            tuple((h.removed, h.added) for h in self.hunks),
        )

    def reverse_signature(self) -> tuple[object, ...]:
        """The signature of the change that undoes this one."""
        return (
            self.new_path,
            self.old_path,
            self.new_mode if self.old_mode != self.new_mode else None,
            self.old_mode if self.old_mode != self.new_mode else None,
            (self.new_blob, self.old_blob) if self.binary else None,
            tuple((h.added, h.removed) for h in self.hunks),
        )


def c_unquote(text: str) -> str:
    """Undo git's C-style path quoting (``"caf\\303\\251.md"`` -> ``café.md``); plain text is returned as is."""
    if len(text) < 2 or not (text.startswith('"') and text.endswith('"')):
        return text
    body, out, i = text[1:-1], bytearray(), 0
    while i < len(body):
        char = body[i]
        if char == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            if nxt in "0123" and re.match(r"[0-7]{3}", body[i + 1 : i + 4]):
                out.append(int(body[i + 1 : i + 4], 8))
                i += 4
                continue
            if nxt in _ESCAPES:
                out.append(_ESCAPES[nxt])
                i += 2
                continue
        out.extend(char.encode("utf-8", "surrogateescape"))
        i += 1
    return out.decode("utf-8", "surrogateescape")


def _strip_prefix(path: str, prefix: str) -> str:
    return path[len(prefix) :] if path.startswith(prefix) else path


def _header_names(rest: str) -> tuple[str | None, str | None]:
    """The two names on a ``diff --git`` line, as git reads them (``git_header_name`` in apply.c)."""
    if rest.startswith('"'):
        end = _quoted_end(rest)
        if end is None:
            return None, None
        first, second = rest[: end + 1], rest[end + 1 :].lstrip(" ")
        return _strip_prefix(c_unquote(first), "a/"), _strip_prefix(c_unquote(second), "b/")
    if rest.endswith('"'):
        start = rest.rfind(' "')
        if start < 0:
            return None, None
        return _strip_prefix(rest[:start], "a/"), _strip_prefix(c_unquote(rest[start + 1 :]), "b/")
    # Unquoted: both names are equal unless this is a rename, whose names come from "rename from/to".
    if rest.startswith("a/") and len(rest) % 2 == 1:
        half = (len(rest) - 1) // 2
        old, new = rest[:half], rest[half + 1 :]
        if old[2:] == new[2:] and new.startswith("b/"):
            return old[2:], new[2:]
    return None, None


def _quoted_end(text: str) -> int | None:
    i = 1
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == '"':
            return i
        i += 1
    return None


def _file_path(line: str, marker: str) -> str | None:
    """The path on a ``---``/``+++``/``rename from`` line (``None`` for /dev/null)."""
    value = line[len(marker) :]
    if not value.startswith('"'):
        value = value.split("\t", 1)[0]  # git ends a path containing spaces with a tab
    value = c_unquote(value.rstrip("\n"))
    if value == "/dev/null":
        return None
    return value


@dataclass
class Section:
    """The lines of one ``diff --git`` section, with the file line of the first one."""

    line: int
    lines: list[str]


def sections(diff: list[str], first_line: int) -> list[Section]:
    out: list[Section] = []
    for offset, text in enumerate(diff):
        if text.startswith("diff --git "):
            out.append(Section(first_line + offset, [text]))
        elif out:
            out[-1].lines.append(text)
    return out


def strip_signature(lines: list[str]) -> list[str]:
    """Drop format-patch's trailing ``-- `` / git version signature."""
    for back in range(1, min(4, len(lines)) + 1):
        if lines[-back] == "-- \n":
            if all(not x.strip() or re.match(r"^[\w.\-+ ]+\n?$", x) for x in lines[-back + 1 :]):
                return lines[:-back]
            break
    return lines


def _check_binary(section: Section, start: int, path: str) -> list[Finding]:
    """A ``GIT binary patch`` has two blocks (forward, reverse), each of base85 lines ended by a blank line."""
    lines = section.lines[start:]
    blocks, i = 0, 0
    while i < len(lines):
        if not _BINARY_LEN.match(lines[i].rstrip("\n")):
            break
        i += 1
        while i < len(lines) and lines[i].strip():
            if i == len(lines) - 1 and not lines[i].endswith("\n"):
                i = len(lines)  # a last line without its newline: cut short
                break
            if not re.match(r"^[A-Za-z][0-9A-Za-z!#$%&()*+\-;<=>?@^_`{|}~]+\n$", lines[i]):
                return [
                    error(
                        "patch-malformed",
                        "corrupt binary patch data (expected a base85 line)",
                        path,
                        section.line + start + i,
                    )
                ]
            i += 1
        if i >= len(lines):
            return [
                error(
                    "patch-truncated",
                    "binary patch data ends without its closing blank line: the file was cut short",
                    path,
                    section.line + start + i - 1,
                )
            ]
        blocks += 1
        i += 1
    if blocks == 0 and not lines:
        return [
            error(
                "patch-truncated", "'GIT binary patch' ends the file: it was cut short", path, section.line + start - 1
            )
        ]
    if blocks == 0:
        return [
            error(
                "patch-malformed",
                "'GIT binary patch' is not followed by a 'literal' or 'delta' block",
                path,
                section.line + start,
            )
        ]
    return []


def _parse_hunks(text: list[str], path: str, first_line: int) -> tuple[tuple[Hunk, ...], list[Finding]]:
    """Hand a ``---``/``+++``/``@@`` block to unidiff and convert its hunks."""
    from unidiff.errors import UnidiffParseError  # noqa: PLC0415 - lazy: only needed when a series exists
    from unidiff.patch import PatchSet  # noqa: PLC0415

    try:
        patch_set = PatchSet(text)
    except UnidiffParseError as exc:
        reason = str(exc)
        if "shorter than expected" in reason:
            return (), [
                error(
                    "patch-truncated",
                    f"a hunk has fewer lines than its @@ header promises ({reason}): "
                    "the file was cut short or edited by hand",
                    path,
                    first_line + len(text) - 1,
                )
            ]
        return (), [error("patch-malformed", f"the diff does not parse: {reason}", path, first_line)]
    hunks: list[Hunk] = []
    for patched in patch_set:
        for hunk in patched:
            header_line = first_line + ((hunk[0].diff_line_no or 2) - 2 if len(hunk) else 0)
            hunks.append(
                Hunk(
                    hunk.source_start,
                    hunk.source_length,
                    hunk.target_start,
                    hunk.target_length,
                    header_line,
                    tuple(x.value for x in hunk if x.is_removed),
                    tuple(x.value for x in hunk if x.is_added),
                )
            )
    return tuple(hunks), []


@dataclass
class _Header:
    """What the extended header lines of one file section say."""

    fields: dict[str, str]
    binary: bool = False
    body_at: int | None = None
    inflated: int = 0


def _read_header(section: Section, path: str) -> tuple[_Header, list[Finding]]:
    """The lines between ``diff --git`` and the first ``---``/``@@``/binary payload, as fields."""
    header = _Header({})
    if len(section.lines) == 1:
        return header, [error("patch-truncated", "'diff --git' ends the file: it was cut short", path, section.line)]
    for i, text in enumerate(section.lines[1:], start=1):
        bare = text.rstrip("\n")
        if bare.startswith(("--- ", "@@ ")) or bare == "---":
            header.body_at = i
            break
        if bare == "GIT binary patch":
            header.binary = True
            found = _check_binary(section, i + 1, path)
            if not found:
                header.inflated = inflated_size(section.lines[i + 1 :])
            return header, found
        if bare.startswith("Binary files ") and bare.endswith(" differ"):
            header.binary = True
            break
        key = next((k for k in _PATH_KEYS if bare.startswith(k)), None)
        if key:
            header.fields[key.strip()] = _file_path(bare, key) or ""
        key = next((k for k in _VALUE_KEYS if bare.startswith(k)), None)
        if key:
            header.fields[key.strip()] = bare[len(key) :]
        index = _INDEX.match(bare)
        if index:
            header.fields["old blob"], header.fields["new blob"] = index.group("old"), index.group("new")
            if index.group("mode"):
                header.fields.setdefault("mode", index.group("mode"))
    if ("old mode" in header.fields) != ("new mode" in header.fields):
        return header, [error("patch-malformed", "'old mode' and 'new mode' must come together", path, section.line)]
    return header, []


def parse_section(section: Section, path: str) -> tuple[FileChange | None, list[Finding]]:
    header_text = section.lines[0].rstrip("\n")[len("diff --git ") :]
    old, new = _header_names(header_text)
    head, found = _read_header(section, path)
    if found:
        return None, found
    fields, binary, body_at = head.fields, head.binary, head.body_at
    kind: ChangeKind = "modify"
    hunks: tuple[Hunk, ...] = ()
    findings: list[Finding] = []
    if body_at is not None:
        block = section.lines[body_at:]
        if block and block[0].startswith("--- ") and len(block) > 1 and block[1].startswith("+++ "):
            minus, plus = _file_path(block[0], "--- "), _file_path(block[1], "+++ ")
            old = _strip_prefix(minus, "a/") if minus else old
            new = _strip_prefix(plus, "b/") if plus else new
            hunks, findings = _parse_hunks(block, path, section.line + body_at)
            if not findings and not hunks:
                findings = [
                    error(
                        "patch-truncated",
                        "file header without any hunk: the file was cut short",
                        path,
                        section.line + body_at,
                    )
                ]
        elif len(block) == 1 and block[0].startswith("--- "):
            findings = [
                error(
                    "patch-truncated",
                    "the file ends after a '---' line, before its '+++' line: the file was cut short",
                    path,
                    section.line + body_at,
                )
            ]
        else:
            findings = [
                error(
                    "patch-malformed",
                    "expected '--- a/<path>' then '+++ b/<path>' before the first hunk",
                    path,
                    section.line + body_at,
                )
            ]
        if findings:
            return None, findings
    if "rename from" in fields or "copy from" in fields:
        kind = "rename" if "rename from" in fields else "copy"
        old = fields.get(f"{kind} from") or old
        new = fields.get(f"{kind} to") or new
    if "new file mode" in fields:
        kind, old = "add", None
    elif "deleted file mode" in fields:
        kind, new = "delete", None
    if (old is None and new is None) or (kind not in ("add", "delete") and (old is None or new is None)):
        return None, [
            error("patch-malformed", f"cannot tell which file 'diff --git {header_text}' changes", path, section.line)
        ]
    described = binary or hunks or kind != "modify" or "old mode" in fields
    if not described:
        return None, [
            error(
                "patch-truncated",
                f"'diff --git {header_text}' is followed by no change: the file was cut short",
                path,
                section.line,
            )
        ]
    similarity = fields.get("similarity index", "").rstrip("%")
    return (
        FileChange(
            kind=kind,
            old_path=old,
            new_path=new,
            line=section.line,
            old_mode=fields.get("old mode") or fields.get("deleted file mode") or fields.get("mode"),
            new_mode=fields.get("new mode") or fields.get("new file mode") or fields.get("mode"),
            old_blob=fields.get("old blob"),
            new_blob=fields.get("new blob"),
            similarity=int(similarity) if similarity.isdigit() else None,
            binary=binary,
            hunks=hunks,
            inflated=head.inflated,
        ),
        [],
    )
