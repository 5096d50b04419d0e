"""``changebot evidence verify``: check a signed freeze-audit statement and say what it records."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HELP = "verify signed freeze-audit evidence (a DSSE envelope from changebot audit --evidence --sign-key)"
DESCRIPTION = """\
verify FILE --key PUBLIC_PEM checks that a signature in the DSSE envelope FILE
verifies with the Ed25519 or ECDSA P-256 public key (over DSSE's
pre-authentication encoding), that the payload is an in-toto Statement v1 of
changebot's freeze-audit predicate (its JSON Schema is
schemas/freeze-audit-evidence.v1.schema.json), and that its subjects and totals
agree with its records; then prints a summary.

exit status: 0 valid, 1 bad signature or statement, 2 the file or key cannot be
read

example:
  changebot evidence verify 2025-W45.intoto.json --key audit.pub.pem
"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``evidence`` subcommand (its one action: ``verify``)."""
    parser = sub.add_parser(
        "evidence", help=HELP, description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("action", choices=("verify",), help="what to do with the file")
    parser.add_argument("file", type=Path, metavar="FILE", help="the DSSE envelope")
    parser.add_argument("--key", type=Path, required=True, metavar="PUBLIC_PEM", help="the signer's public key")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Verify and print the summary; 1 for a bad signature or statement (2 is raised as an error)."""
    from changebot.usecases import evidence  # noqa: PLC0415 - loads jsonschema and cryptography

    try:
        summary = evidence.verify(args.file, args.key)
    except evidence.Invalid as exc:
        print(f"changebot: INVALID: {exc.diagnostics()}", file=sys.stderr)
        return 1
    print("\n".join(summary.lines()))
    return 0
