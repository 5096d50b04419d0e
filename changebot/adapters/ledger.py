"""Where month-to-date CI spend comes from: a file-backed ledger (``--ledger FILE``), a ``core.spend.SpendSource``.

The budget gate asks one question of a ``SpendSource``: how many US dollars has this lane spent this month
so far? ``None`` means "unknown" (the gate then says so and judges the run against the per-run cap only).
The GitHub Actions usage API implements the same Protocol elsewhere.

The ledger file is JSON or CSV (chosen by the ``.json``/``.csv`` extension; anything else is tried as JSON
first). Each entry is one charge:

=========  ==========================================================  ========
column     meaning                                                     required
=========  ==========================================================  ========
``date``   when it was spent: ISO 8601 date-time with offset, or a     yes
           date ``YYYY-MM-DD`` (midnight UTC)
``lane``   the budget lane (a key of ``prio`` in ci_budget.json, e.g.  yes
           ``pull_request``, ``main``)
``usd``    the amount, a non-negative number of US dollars             yes
``step``   the pipeline step id it paid for; rows with a step give     no
           that step's recorded cost (their mean) to the estimate
=========  ==========================================================  ========

JSON is a list of such objects (or ``{"entries": [...]}``); CSV has a header row naming the columns.
"Month to date" is the calendar month of ``now`` in UTC, up to and including ``now``. A bad file is a
``UsageError`` naming the file and line (exit status 2): a ledger that cannot be read is never taken as zero.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from changebot.core.budget.lanes import NO_LANES
from changebot.core.documents.load import Limits, load_json
from changebot.errors import UsageError

MAX_LEDGER_BYTES = 32 * 1024 * 1024


@dataclass(frozen=True)
class Charge:
    """One ledger entry."""

    at: datetime
    lane: str
    usd: float
    step: str | None = None


@dataclass(frozen=True)
class FileLedger:
    """A ledger read from a JSON or CSV file (see the module docstring for the columns)."""

    path: str
    charges: tuple[Charge, ...]

    def month_to_date_usd(self, lane: str, now: datetime, lanes: Mapping[str, str] = NO_LANES) -> float | None:
        """Sum of ``usd`` for ``lane`` in ``now``'s UTC month, at or before ``now`` (rows carry their lane)."""
        now = now.astimezone(UTC)
        start = datetime(now.year, now.month, 1, tzinfo=UTC)
        return math.fsum(c.usd for c in self.charges if c.lane == lane and start <= c.at <= now)

    def step_cost_usd(self, step_id: str) -> float | None:
        """Mean ``usd`` of the rows for ``step_id``."""
        costs = [c.usd for c in self.charges if c.step == step_id]
        return math.fsum(costs) / len(costs) if costs else None


def _bad(path: str, line: int | None, message: str) -> UsageError:
    where = f"{path}:{line}" if line else path
    return UsageError(
        f"--ledger {where}: {message}",
        "each entry needs date (ISO 8601 with offset, or YYYY-MM-DD), lane, and usd (a non-negative number); "
        "see 'changebot budget --help'",
    )


def _charge(path: str, line: int | None, row: Mapping[str, Any]) -> Charge:
    missing = [key for key in ("date", "lane", "usd") if row.get(key) in (None, "")]
    if missing:
        raise _bad(path, line, f"missing {', '.join(missing)}")
    raw_date = str(row["date"]).strip()
    try:
        if len(raw_date) == 10:
            day = date.fromisoformat(raw_date)
            at = datetime(day.year, day.month, day.day, tzinfo=UTC)
        else:
            at = datetime.fromisoformat(raw_date)
    except ValueError as exc:
        raise _bad(path, line, f"date {raw_date!r} is not ISO 8601") from exc
    if at.tzinfo is None:
        raise _bad(path, line, f"date {raw_date!r} has no UTC offset (add Z or +00:00)")
    usd = row["usd"]
    if isinstance(usd, str):
        try:
            usd = float(usd.strip())
        except ValueError as exc:
            raise _bad(path, line, f"usd {row['usd']!r} is not a number") from exc
    if isinstance(usd, bool) or not isinstance(usd, int | float) or not math.isfinite(usd) or usd < 0:
        raise _bad(path, line, f"usd {row['usd']!r} is not a non-negative number")
    step = row.get("step")
    return Charge(at.astimezone(UTC), str(row["lane"]), float(usd), str(step) if step not in (None, "") else None)


def parse_ledger(path: str, raw: bytes) -> FileLedger:
    """Parse ledger bytes; raises ``UsageError`` naming the file and line for anything wrong."""
    if path.lower().endswith(".csv"):
        return _parse_csv(path, raw)
    loaded = load_json(path, raw, Limits(max_file_bytes=MAX_LEDGER_BYTES, max_nodes=5_000_000))
    if loaded.document is None:
        first = loaded.findings[0]
        raise _bad(path, first.line, first.message)
    data = loaded.document.data
    prefix: tuple[str, ...] = ()
    if isinstance(data, Mapping):
        data, prefix = data.get("entries"), ("entries",)
    if not isinstance(data, list):
        raise _bad(path, 1, 'expected a JSON list of {date, lane, usd, step?} entries (or {"entries": [...]})')
    charges = []
    for index, row in enumerate(data):
        line = loaded.document.line((*prefix, index))
        if not isinstance(row, Mapping):
            raise _bad(path, line, "each entry must be an object {date, lane, usd, step?}")
        charges.append(_charge(path, line, row))
    return FileLedger(path, tuple(charges))


def _parse_csv(path: str, raw: bytes) -> FileLedger:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _bad(path, None, "file is not UTF-8 text") from exc
    reader = csv.DictReader(io.StringIO(text))
    header: Sequence[str] = reader.fieldnames or []
    missing = [c for c in ("date", "lane", "usd") if c not in header]
    if missing:
        raise _bad(path, 1, f"the header row lacks column(s) {', '.join(missing)} (found: {', '.join(header)})")
    charges = []
    try:
        for row in reader:
            charges.append(_charge(path, reader.line_num, row))
    except csv.Error as exc:
        raise _bad(path, reader.line_num, f"CSV error: {exc}") from exc
    return FileLedger(path, tuple(charges))


def read_ledger(file: Path) -> FileLedger:
    """Read ``--ledger FILE`` from disk (size-capped)."""
    try:
        size = file.stat().st_size
        if size > MAX_LEDGER_BYTES:
            raise _bad(str(file), None, f"file is {size:,} bytes; the limit is {MAX_LEDGER_BYTES:,}")
        raw = file.read_bytes()
    except OSError as exc:
        raise UsageError(f"--ledger {file}: cannot read the file ({exc.strerror or exc})") from exc
    return parse_ledger(str(file), raw)
