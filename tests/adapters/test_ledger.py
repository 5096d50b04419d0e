"""The file ledger behind --ledger: JSON and CSV, month-to-date sums, and clear errors for bad files."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from changebot.adapters.ledger import parse_ledger
from changebot.core.budget.spend import SpendSource, StepHistory
from changebot.errors import UsageError

NOW = datetime(2025, 12, 15, 12, tzinfo=UTC)


def test_json_and_csv_give_the_same_sums() -> None:
    as_json = parse_ledger(
        "l.json",
        b'[{"date": "2025-12-01", "lane": "main", "usd": 1.5},'
        b' {"date": "2025-12-15T13:00:00+02:00", "lane": "main", "usd": 2, "step": "build"},'
        b' {"date": "2025-12-15T12:00:01Z", "lane": "main", "usd": 100}]',
    )
    as_csv = parse_ledger(
        "l.csv",
        b"date,lane,usd,step\n2025-12-01,main,1.5,\n2025-12-15T13:00:00+02:00,main,2,build\n"
        b"2025-12-15T12:00:01Z,main,100,\n",
    )
    for ledger in (as_json, as_csv):
        assert isinstance(ledger, SpendSource)
        assert isinstance(ledger, StepHistory)
        # 13:00+02:00 is 11:00Z, before now; 12:00:01Z is after now -> 1.5 + 2 = 3.5
        assert ledger.month_to_date_usd("main", NOW) == 3.5
        assert ledger.month_to_date_usd("pull_request", NOW) == 0.0
        assert ledger.step_cost_usd("build") == 2.0
        assert ledger.step_cost_usd("lint") is None


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        (
            "l.csv",
            "date,lane,usd\n2025-12-01,main,1\n2025-12-02,main,-3\n",
            "--ledger l.csv:3: usd '-3' is not a non-negative",
        ),
        ("l.csv", "date,lane,usd\n2025-12-01,main,ten\n", "--ledger l.csv:2: usd 'ten' is not a number"),
        ("l.csv", "when,lane,cost\n2025-12-01,main,1\n", "--ledger l.csv:1: the header row lacks column(s) date, usd"),
        (
            "l.csv",
            "date,lane,usd\n2025-12-01T10:00:00,main,1\n",
            "l.csv:2: date '2025-12-01T10:00:00' has no UTC offset",
        ),
        ("l.csv", "date,lane,usd\nyesterday,main,1\n", "l.csv:2: date 'yesterday' is not ISO 8601"),
        ("l.csv", "date,lane,usd\n2025-12-01,,1\n", "l.csv:2: missing lane"),
        (
            "l.json",
            '[\n {"date": "2025-12-01", "lane": "main", "usd": 1},\n {"date": "2025-12-01"',
            "l.json:3: JSON syntax",
        ),
        (
            "l.json",
            '[\n {"date": "2025-12-01", "lane": "main", "usd": true}\n]',
            "l.json:2: usd True is not a non-negative",
        ),
        ("l.json", '{"total": 5}', "l.json:1: expected a JSON list"),
        ("l.json", "[\n 5\n]", "l.json:2: each entry must be an object"),
    ],
)
def test_bad_ledgers_raise_usage_errors_with_file_and_line(name: str, text: str, message: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_ledger(name, text.encode())
    assert message in str(caught.value)
