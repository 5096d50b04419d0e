"""``git format-patch`` files -> ``Patch`` values. Pure: bytes in, data and findings out, no I/O.

A format-patch file is a mail: an mbox ``From <sha>`` line, RFC 5322 headers (``From:``, ``Date:``, a
``Subject: [PATCH n/m] ...`` that may be folded or MIME-encoded), the commit message, a ``---`` line, a
diffstat, the diffs, and a ``-- `` signature with the git version. Each part is read by the tool made for it:

* headers by the standard library's ``email`` parser (folding, ``=?UTF-8?q?...?=`` words, charsets);
* hunks by ``unidiff`` (line counts checked, ``\\ No newline at end of file`` markers, added/removed lines);
* git's extended headers (renames, copies, modes, binary patches, C-quoted names) by
  ``changebot.core.sequence.gitdiff``, which says where unidiff falls short and why.

Applying is never done here: git applies (``changebot.adapters.git.apply``). Every problem is a ``Finding``
with the patch file's path and the 1-based line in it; nothing raises on bad input.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from changebot.core.sequence.gitdiff import FileChange, Hunk, c_unquote, parse_section, sections, strip_signature
from changebot.model import Finding, error, notice, warning

__all__ = ["FileChange", "Hunk", "Parsed", "Patch", "c_unquote", "file_number", "name_subject", "parse_patch"]

_SUBJECT_PREFIX = re.compile(r"^\s*\[(?P<tag>[^\]]*\bPATCH\b[^\]]*)\]\s*", re.IGNORECASE)
_N_OF_M = re.compile(r"\b(?P<n>\d+)/(?P<m>\d+)\b")
_FILE_NUMBER = re.compile(r"^(?P<num>\d{1,6})-")
_MBOX_FROM = re.compile(rb"^From (?P<sha>[0-9a-f]{7,64}) ")
_STAT_SUMMARY = re.compile(
    r"^ (?P<files>\d+) files? changed(?:, (?P<ins>\d+) insertions?\(\+\))?(?:, (?P<del>\d+) deletions?\(-\))?"
)
_MBOX_SEPARATOR = re.compile(rb"^From [0-9a-f]{40,64} Mon Sep 17 00:00:00 2001$", re.MULTILINE)


@dataclass(frozen=True)
class Patch:
    """One parsed patch file. ``number`` comes from the file name (``0029-...``), ``index``/``total`` from
    the subject's ``[PATCH n/m]``; ``changes`` is empty for an empty commit."""

    path: str
    size: int
    number: int | None
    index: int | None
    total: int | None
    subject: str
    author: str | None
    date: str | None
    commit: str | None
    message: str
    changes: tuple[FileChange, ...]
    raw: bytes
    valid: bool = True

    @property
    def name(self) -> str:
        """The file name of the patch."""
        return self.path.rsplit("/", 1)[-1]

    @property
    def paths(self) -> tuple[str, ...]:
        """Every repository path the patch touches, in order of appearance."""
        return tuple(dict.fromkeys(p for c in self.changes for p in c.paths))

    @property
    def empty(self) -> bool:
        """True for a patch with no file changes (an empty commit)."""
        return self.valid and not self.changes

    def signature(self) -> tuple[object, ...]:
        """What the whole patch does, comparable across patches."""
        return tuple(sorted((c.signature() for c in self.changes), key=repr))

    def reverse_signature(self) -> tuple[object, ...]:
        """The signature of the patch that undoes this one."""
        return tuple(sorted((c.reverse_signature() for c in self.changes), key=repr))


@dataclass(frozen=True)
class Parsed:
    """The outcome of parsing one file: the patch (possibly ``valid=False``) and what was wrong."""

    patch: Patch
    findings: tuple[Finding, ...] = ()


def _parse_subject(subject: str) -> tuple[str, int | None, int | None]:
    match = _SUBJECT_PREFIX.match(subject)
    if not match:
        return subject.strip(), None, None
    counts = _N_OF_M.search(match.group("tag"))
    rest = subject[match.end() :].strip()
    if counts is None:
        return rest, None, None
    return rest, int(counts.group("n")), int(counts.group("m"))


def name_subject(path: str) -> str:
    """The subject slug of a file name (``0030-chore-ci-retrigger.patch`` -> ``chore-ci-retrigger``)."""
    name = path.rsplit("/", 1)[-1].removesuffix(".patch")
    return _FILE_NUMBER.sub("", name)


def file_number(path: str) -> int | None:
    match = _FILE_NUMBER.match(path.rsplit("/", 1)[-1])
    return int(match.group("num")) if match else None


@dataclass
class _Mail:
    subject: str = ""
    author: str | None = None
    date: str | None = None
    commit: str | None = None
    body: bytes = b""
    body_line: int = 1
    has_headers: bool = False


def _decoded(value: object) -> str:
    """A header value with RFC 2047 words (``=?UTF-8?q?caf=C3=A9?=``) decoded and folding undone.

    The ``compat32`` policy with ``email.header`` is used rather than ``policy.default``: same result for
    format-patch headers, several times faster on a series of hundreds of patches.
    """
    from email.header import decode_header, make_header  # noqa: PLC0415 - lazy, see _split_mail

    if value is None:
        return ""
    try:
        return str(make_header(decode_header(str(value))))
    except (ValueError, LookupError):  # a malformed encoded word or an unknown charset: keep the raw text
        return str(value)


def _split_mail(raw: bytes) -> _Mail:
    """Headers (via ``email``) and the body with its starting line; a bare diff has no headers."""
    from email import policy  # noqa: PLC0415 - lazy: keeps `changebot plan` start-up fast
    from email.parser import BytesHeaderParser, BytesParser  # noqa: PLC0415

    mail = _Mail()
    if raw.startswith(b"diff --git "):
        mail.body = raw
        return mail
    mbox = _MBOX_FROM.match(raw)
    if mbox:
        mail.commit = mbox.group("sha").decode("ascii")
    end = raw.find(b"\n\n")
    header_bytes = raw if end < 0 else raw[: end + 1]
    headers = BytesHeaderParser(policy=policy.compat32).parsebytes(header_bytes)
    mail.has_headers = any(k in headers for k in ("From", "Subject", "Date"))
    if not mail.has_headers:
        mail.body = raw
        return mail
    mail.subject = " ".join(_decoded(headers.get("Subject")).split())
    mail.author = " ".join(_decoded(headers.get("From")).split()) or None
    mail.date = _decoded(headers.get("Date")) or None
    mail.body = b"" if end < 0 else raw[end + 2 :]
    mail.body_line = header_bytes.count(b"\n") + 2
    encoding = str(headers.get("Content-Transfer-Encoding", "8bit")).strip().lower()
    if encoding in ("quoted-printable", "base64"):
        payload = BytesParser(policy=policy.compat32).parsebytes(raw).get_payload(decode=True)
        mail.body = payload if isinstance(payload, bytes) else b""
    return mail


def _crlf(raw: bytes) -> int | None:
    """The first structural line (mail header or ``diff --git``) that ends in CRLF, if any."""
    for number, line in enumerate(raw.split(b"\n"), start=1):
        if line.endswith(b"\r") and (line.startswith((b"From ", b"diff --git ", b"Subject:", b"@@ ", b"index "))):
            return number
    return None


def _invalid(path: str, raw: bytes, mail: _Mail | None, findings: list[Finding]) -> Parsed:
    subject, index, total = _parse_subject(mail.subject) if mail else ("", None, None)
    patch = Patch(
        path,
        len(raw),
        file_number(path),
        index,
        total,
        subject,
        mail.author if mail else None,
        mail.date if mail else None,
        mail.commit if mail else None,
        "",
        (),
        raw,
        valid=False,
    )
    return Parsed(patch, tuple(findings))


def parse_patch(path: str, raw: bytes, max_bytes: int) -> Parsed:
    """Parse one ``git format-patch`` file; ``path`` is repository-relative and used in findings."""
    if len(raw) > max_bytes:
        return _invalid(
            path,
            raw,
            None,
            [
                error(
                    "patch-too-large",
                    f"patch is {len(raw):,} bytes; the limit is {max_bytes:,} bytes "
                    "(sequence.max_patch_bytes): split it, or raise the limit",
                    path,
                )
            ],
        )
    if not raw:
        patch = Patch(path, 0, file_number(path), None, None, name_subject(path), None, None, None, "", (), raw)
        return Parsed(
            patch,
            (
                warning(
                    "patch-empty-file",
                    "the file is empty (0 bytes): git before 2.41 writes an empty commit this way; "
                    "expected a mail header even for an empty commit",
                    path,
                ),
            ),
        )
    if b"\x00" in raw:
        return _invalid(
            path, raw, None, [error("not-a-patch", "the file contains NUL bytes: expected git format-patch text", path)]
        )
    crlf = _crlf(raw)
    if crlf is not None:
        return _invalid(
            path,
            raw,
            None,
            [
                error(
                    "patch-crlf",
                    "patch lines end in CRLF; git format-patch writes LF: the file was converted (e.g. "
                    "core.autocrlf) and will not apply as written; restore LF line endings",
                    path,
                    crlf,
                )
            ],
        )
    mail = _split_mail(raw)
    text = mail.body.decode("utf-8", "surrogateescape").splitlines(keepends=True)
    first_diff = next((i for i, x in enumerate(text) if x.startswith("diff --git ")), None)
    message_lines = text if first_diff is None else text[:first_diff]
    separator = next((i for i, x in enumerate(message_lines) if x.rstrip("\n") == "---"), len(message_lines))
    message = "".join(message_lines[:separator]).strip()
    if first_diff is None:
        return _without_diff(path, raw, mail, message_lines, separator, message)
    tail = text[first_diff:]
    diff = strip_signature(tail)
    signed = len(diff) < len(tail)
    if diff and not diff[-1].endswith("\n"):
        return _invalid(
            path,
            raw,
            mail,
            [
                error(
                    "patch-truncated",
                    "the last line of the diff has no newline: the file was cut short",
                    path,
                    mail.body_line + first_diff + len(diff) - 1,
                )
            ],
        )
    changes: list[FileChange] = []
    findings: list[Finding] = []
    parts = sections(diff, mail.body_line + first_diff)
    for number, section in enumerate(parts, start=1):
        change, found = parse_section(section, path)
        if number == len(parts) and not signed:  # the last file, and no signature: the file was cut there
            found = [_as_truncated(f) for f in found]
        findings.extend(found)
        if change is not None:
            changes.append(change)
    if findings:
        return _invalid(path, raw, mail, findings)
    stat = _diffstat(message_lines[separator + 1 :])
    findings = _stat_findings(path, stat, changes, signed, mail.body_line + separator + 1)
    if any(f.severity == "error" for f in findings):
        return _invalid(path, raw, mail, findings)
    return _finish(path, raw, mail, message, tuple(changes), findings)


def _without_diff(path: str, raw: bytes, mail: _Mail, message_lines: list[str], separator: int, message: str) -> Parsed:
    """A mail with no ``diff --git``: an empty commit, unless a diffstat says files were cut off."""
    if not mail.has_headers:
        return _invalid(
            path,
            raw,
            mail,
            [
                error(
                    "not-a-patch",
                    "no mail header and no 'diff --git' line: expected git format-patch output",
                    path,
                    1,
                )
            ],
        )
    after = [x for x in message_lines[separator + 1 :] if x != "\n"]
    stat = _diffstat(after)
    if after and stat is None:
        return _invalid(
            path,
            raw,
            mail,
            [
                error(
                    "patch-truncated",
                    "the diffstat after '---' has no summary line and no diff follows: the file was cut short",
                    path,
                    mail.body_line + len(message_lines) - 1,
                )
            ],
        )
    found = _stat_findings(path, stat, (), signed=False, line=mail.body_line + separator + 1)
    if found:  # a diffstat that announces files, and no diff: cut short
        return _invalid(path, raw, mail, found)
    return _finish(path, raw, mail, message, (), [])


def _as_truncated(finding: Finding) -> Finding:
    if finding.code != "patch-malformed":
        return finding
    return replace(
        finding,
        code="patch-truncated",
        message=f"{finding.message}, and the file ends there without format-patch's '-- ' signature: it was cut short",
    )


def _diffstat(lines: list[str]) -> tuple[int, int, int] | None:
    """``(files, insertions, deletions)`` from the diffstat's summary line, if the mail has one."""
    for line in lines:
        match = _STAT_SUMMARY.match(line)
        if match:
            return int(match.group("files")), int(match.group("ins") or 0), int(match.group("del") or 0)
    return None


def _stat_findings(
    path: str, stat: tuple[int, int, int] | None, changes: Sequence[FileChange], signed: bool, line: int
) -> list[Finding]:
    """The diffstat against the diff: fewer files than it announces, with no signature, means a cut file."""
    if stat is None:
        return []
    files, insertions, deletions = stat
    found = (len(changes), sum(c.added for c in changes), sum(c.removed for c in changes))
    if found == stat:
        return []
    said = f"{files} file(s), +{insertions} -{deletions}"
    got = f"{found[0]} file(s), +{found[1]} -{found[2]}"
    if not signed:  # complete format-patch output ends with its signature; without it, a mismatch is a cut
        return [
            error(
                "patch-truncated",
                f"the diffstat announces {said} but the diff has {got} and no '-- ' signature: the file was cut short",
                path,
                line,
            )
        ]
    return [
        warning(
            "patch-diffstat-mismatch",
            f"the diffstat announces {said} but the diff has {got}: the "
            "patch was edited after git format-patch wrote it",
            path,
            line,
        )
    ]


def _finish(
    path: str, raw: bytes, mail: _Mail, message: str, changes: tuple[FileChange, ...], findings: list[Finding]
) -> Parsed:
    subject, index, total = _parse_subject(mail.subject)
    if mail.has_headers and not mail.subject:
        findings.append(notice("patch-no-subject", "the mail header has no Subject: line", path, 1))
    mails = list(_MBOX_SEPARATOR.finditer(raw))
    if len(mails) > 1:
        second = raw.count(b"\n", 0, mails[1].start()) + 1
        findings.append(
            warning(
                "patch-several-in-one-file",
                f"expected one patch per file, found {len(mails)} mails: they are checked and applied as one patch",
                path,
                second,
            )
        )
    patch = Patch(
        path,
        len(raw),
        file_number(path),
        index,
        total,
        subject,
        mail.author,
        mail.date,
        mail.commit,
        message,
        changes,
        raw,
    )
    return Parsed(patch, tuple(findings))
