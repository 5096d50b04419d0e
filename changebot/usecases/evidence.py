"""Audit evidence: build the in-toto statement of an audit run, write it (signed or not), and verify a file.

``verify`` answers the three questions an auditor's tooling asks of a file: can it be read (else
``Unreadable``, exit 2), is it signed by this key and is its statement well formed (else ``Invalid``, exit 1),
and what does it say (a ``Summary``).
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema

from changebot.adapters import dsse
from changebot.core import evidence as core
from changebot.core.documents.resources import schema
from changebot.errors import ChangebotError
from changebot.usecases.audit import AuditRun, Period

#: Evidence and key files larger than this are refused unread.
MAX_FILE_BYTES = 64 * 1024 * 1024


class Unreadable(ChangebotError):
    """The file or key cannot be read (exit status 2)."""


class Invalid(ChangebotError):
    """The signature does not verify or the statement breaks its schema (exit status 1)."""


def statement(repository: str, period: Period, run: AuditRun) -> dict[str, Any]:
    """The in-toto Statement of ``run``."""
    gov = run.governance
    given = core.EvidenceInput(
        repository=repository,
        period_key=period.key,
        calendar=gov.files if gov is not None else (),
        check_name=gov.check_name if gov is not None else "changebot",
        checks=run.checks,
        sticky_urls=run.sticky_urls,
    )
    return core.statement(run.report, given)


def _read(path: Path, what: str) -> bytes:
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise Unreadable(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    if len(data) > MAX_FILE_BYTES:
        raise Unreadable(f"{what} {path} is larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB")
    return data


def load_signer(path: Path) -> dsse.Signer:
    """The signing key at ``path`` (Ed25519 or ECDSA P-256, PEM)."""
    return dsse.signer_from_pem(_read(path, "signing key"), f"signing key {path}")


def serialise(document: dict[str, Any]) -> bytes:
    """Canonical enough JSON: sorted keys, no spaces, UTF-8 (the signed bytes are these, whatever a reader
    does with whitespace later)."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def write(path: Path, document: dict[str, Any], signer: dsse.Signer | None) -> Path:
    """Write the statement (a DSSE envelope when ``signer`` is given) atomically: a reader never sees half a
    file, and a failure leaves no file behind."""
    payload = serialise(document)
    data = serialise(dsse.envelope(payload, signer)) if signer is not None else payload
    target = path.resolve()
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data + b"\n")
        Path(tmp).replace(target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


@dataclass(frozen=True)
class Summary:
    """What a verified file says."""

    keyid: str
    repository: str
    since: str
    until: str
    merges: int
    in_freeze: int
    unauthorised: int

    def lines(self) -> list[str]:
        """The summary for people."""
        return [
            f"OK: signed by key {self.keyid}",
            f"repository {self.repository}, period {self.since} .. {self.until}",
            f"{self.merges} merge(s), {self.in_freeze} during a freeze, {self.unauthorised} unauthorised",
        ]


def _schema_errors(document: Any) -> list[str]:
    validator = jsonschema.Draft202012Validator(
        schema(core.SCHEMA_FILE.removesuffix(".schema.json")), format_checker=jsonschema.FormatChecker()
    )
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    return [f"$.{'.'.join(str(p) for p in e.absolute_path)}: {e.message}" for e in errors]


def check_statement(document: Any) -> list[str]:
    """Schema errors of an in-toto statement of changebot's predicate type (none when it is valid)."""
    errors = _schema_errors(document)
    if errors:
        return errors
    predicate = document["predicate"]
    named = {(s["name"], s["digest"]["gitCommit"]) for s in document["subject"]}
    repo = predicate["repository"]
    recorded = {(f"{repo}#{m['number']}", m["merge_commit"]) for m in predicate["merges"] if m["merge_commit"]}
    if named != recorded:
        return ["$.subject: the subjects are not the merges the predicate records"]
    merges = predicate["merges"]
    counted = {
        "merges": len(merges),
        "in_freeze": sum(1 for m in merges if m["window"] is not None),
        "unauthorised": sum(1 for m in merges if m["authorisation"] == "unauthorised"),
    }
    if predicate["totals"] != counted:
        return [f"$.predicate.totals: {predicate['totals']} does not count the records ({counted})"]
    return []


def verify(path: Path, key_path: Path) -> Summary:
    """Check the envelope at ``path`` against the public key at ``key_path`` and its statement's schema."""
    public = dsse.public_from_pem(_read(key_path, "key"), f"key {key_path}")
    raw = _read(path, "evidence file")
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Unreadable(f"{path} is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise Invalid(f"{path} is not a DSSE envelope (a JSON object)")
    if "_type" in data and "signatures" not in data:
        raise Invalid(f"{path} is an unsigned statement: there is no signature to verify")
    try:
        payload_type, payload = dsse.open_envelope(data, public)
    except dsse.BadEnvelope as exc:
        raise Invalid(f"{path}: {exc}") from None
    if payload_type != dsse.PAYLOAD_TYPE:
        raise Invalid(f"{path}: payloadType is {payload_type!r}, expected {dsse.PAYLOAD_TYPE!r}")
    try:
        document = json.loads(payload)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Invalid(f"{path}: the signed payload is not JSON: {exc}") from None
    problems = check_statement(document)
    if problems:
        raise Invalid(f"{path}: the statement breaks its schema: {problems[0]}", "; ".join(problems[1:4]) or None)
    predicate = document["predicate"]
    totals = predicate["totals"]
    return Summary(
        dsse.keyid(public),
        predicate["repository"],
        predicate["period"]["since"],
        predicate["period"]["until"],
        int(totals["merges"]),
        int(totals["in_freeze"]),
        int(totals["unauthorised"]),
    )
