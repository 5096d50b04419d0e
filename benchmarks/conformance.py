"""Agreement of the embedded engine (regorus) with OPA on OPA's own conformance cases, per area.

    python benchmarks/conformance.py           # print the table (benchmarks/README.md, "policy engines")
    python benchmarks/conformance.py --write   # also rewrite tests/adapters/conformance_agree.json
    python benchmarks/conformance.py --confirm # also run the cases the embedded engine gets wrong through opa

The cases come from the Go module cache at the pinned OPA version (``tests/support/opa.py`` builds OPA with
``go install``, which puts them there); none are copied into this repository. Rewrite the expectation file only on
purpose (a regorus upgrade): the test fails when a case listed there stops agreeing.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.conformance import EXPECTED, agreement, cases, opa_agrees
from tests.support.opa import OPA_VERSION, conformance_root, opa_path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="rewrite the expectation file")
    parser.add_argument("--confirm", action="store_true", help="check OPA's answer on the disagreeing cases")
    args = parser.parse_args()
    root = conformance_root()
    if root is None:
        print("OPA's conformance cases are not available (needs go)", file=sys.stderr)
        return 2
    found = agreement(root)
    print(f"OPA {OPA_VERSION} conformance cases, embedded engine agreement")
    print("| area | cases | agree | % |")
    print("|---|---:|---:|---:|")
    total = agreeing = 0
    for area, results in found.items():
        n, k = len(results), sum(results.values())
        total, agreeing = total + n, agreeing + k
        print(f"| {area} | {n} | {k} | {100 * k / max(n, 1):.0f}% |")
    print(f"| **all** | {total} | {agreeing} | {100 * agreeing / max(total, 1):.0f}% |")
    if args.confirm:
        binary = opa_path()
        assert binary is not None
        wrong = [c for area in found for c in cases(root, area) if not found[area][c.ident]]
        confirmed = [c.ident for c in wrong if opa_agrees(c, binary)]
        print(f"opa eval gives OPA's expected answer on {len(confirmed)} of {len(wrong)} disagreeing cases; not on:")
        for ident in sorted({c.ident for c in wrong} - set(confirmed)):
            print(f"  {ident}")
    if args.write:
        expected = {area: sorted(c for c, ok in results.items() if ok) for area, results in found.items()}
        EXPECTED.write_text(json.dumps(expected, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"wrote {EXPECTED}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
