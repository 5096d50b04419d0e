"""``changebot audit``: what merged during a freeze, who allowed it, and what is about to freeze."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from changebot.adapters.github.calls import DEFAULT_API_URL
from changebot.cli.common import add_format, add_now, emit, env, parse_now
from changebot.errors import UsageError

if TYPE_CHECKING:
    from changebot.adapters.github.audit import Published

HELP = "audit freeze-window compliance on GitHub (dry run unless --publish)"
DESCRIPTION = """\
List pull requests merged into a frozen branch while a freeze window was
enforced, each with the override that allowed it (actor, reason, expiry) or
marked UNAUTHORISED; open pull requests whose target branch enters a freeze in
the next --days days; and overrides that expired unused. The calendar and the
governed branches are read from --checkout at --ref (the default branch, where
governance lives).

Without --publish nothing is written (dry run). With --publish, one issue per
period (the ISO week of --now, or the period starting at --since) is created
once and then edited in place, labelled changebot-audit.

With --evidence FILE, an in-toto Statement v1 lists every merge into a
governed branch in the period (in a freeze or not) with who merged it, the
window in force, the override or "unauthorised", and changebot's check
conclusion on the merged head; with --sign-key PEM (Ed25519 or ECDSA P-256)
it is wrapped in a signed DSSE envelope. Check it with
`changebot evidence verify FILE --key PUBLIC_PEM`.

The token comes from --token, CHANGEBOT_TOKEN or GITHUB_TOKEN; the API from
--api-url, CHANGEBOT_GITHUB_API_URL or GITHUB_API_URL (GitHub Enterprise works
the same way). Overrides are read only from changebot's own sticky comments:
its login is --bot-login or CHANGEBOT_BOT_LOGIN, else github.bot_login in
.maestro/changebot.yaml, else github-actions[bot] on Actions; never the
token's user (the audit exits 2 when it is not known).

A calendar or settings file that cannot be read stops the audit (exit 2,
"could not audit: FILE:LINE reason"); with --publish the period's issue says
so. A rerun writes the issue only when what it says changed.

exit status: 0 no unauthorised merge, 1 unauthorised merges found, 2 could not
run

examples:
  changebot audit --repo octo/app
  changebot audit --repo octo/app --since 2025-12-01 --days 28 --format markdown
  changebot audit --repo octo/app --publish
  changebot audit --repo octo/app --since 2025-10-01 \\
      --evidence q4.intoto.json --sign-key audit.pem
"""

log = logging.getLogger("changebot.audit")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``audit`` subcommand."""
    parser = sub.add_parser(
        "audit", help=HELP, description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--repo",
        default=env("--repo") or os.environ.get("GITHUB_REPOSITORY"),
        metavar="OWNER/NAME",
        help="GitHub repository to audit (env CHANGEBOT_REPO, else GITHUB_REPOSITORY)",
    )
    parser.add_argument(
        "--checkout",
        type=Path,
        default=Path(env("--checkout", ".") or "."),
        metavar="PATH",
        help="local clone holding the freeze calendars (default: current directory)",
    )
    parser.add_argument(
        "--ref",
        default=env("--ref"),
        metavar="REF",
        help="read the calendars at this ref (default: the working tree; env CHANGEBOT_REF)",
    )
    parser.add_argument(
        "--since",
        default=env("--since"),
        metavar="DATE",
        help="audit merges from this date or date-time (default: the start of this ISO week, UTC)",
    )
    parser.add_argument(
        "--days",
        default=env("--days", "14"),
        metavar="N",
        help="look this many days ahead for open PRs entering a freeze (default: 14)",
    )
    parser.add_argument(
        "--publish",
        action="store_true",
        default=env("--publish") in ("1", "true", "yes"),
        help="create or update the period's audit issue (default: dry run, print only)",
    )
    parser.add_argument(
        "--bot-login",
        default=env("--bot-login"),
        metavar="LOGIN",
        help="changebot's own login, whose sticky comments hold overrides (env CHANGEBOT_BOT_LOGIN)",
    )
    parser.add_argument(
        "--evidence",
        type=Path,
        default=env("--evidence"),
        metavar="FILE",
        help="write the period as an in-toto Statement (a DSSE envelope with --sign-key; env CHANGEBOT_EVIDENCE)",
    )
    parser.add_argument(
        "--sign-key",
        type=Path,
        default=env("--sign-key"),
        metavar="PEM",
        help="sign the evidence with this Ed25519 or ECDSA P-256 private key (env CHANGEBOT_SIGN_KEY)",
    )
    parser.add_argument(
        "--token",
        default=None,
        metavar="TOKEN",
        help="GitHub token (prefer the environment: CHANGEBOT_TOKEN or GITHUB_TOKEN)",
    )
    parser.add_argument(
        "--api-url",
        default=env("--github-api-url") or os.environ.get("GITHUB_API_URL") or DEFAULT_API_URL,
        metavar="URL",
        help="GitHub REST API URL",
    )
    add_now(parser)
    add_format(parser, ("text", "markdown", "json"))
    parser.set_defaults(run=run)


def _since(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise UsageError(f"--since {value!r} is not a date (YYYY-MM-DD) or an ISO 8601 date-time") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _days(value: str) -> int:
    if not value.isdigit() or not 0 < int(value) <= 366:
        raise UsageError(f"--days {value!r} must be a whole number from 1 to 366")
    return int(value)


def _said(published: Published) -> None:
    print(f"changebot: audit issue #{published.number} {published.action}: {published.url}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    """Audit, print, write evidence, and publish when asked."""
    # Loaded here, not at import: every changebot command imports this module to build --help.
    from changebot.adapters.github.audit import AuditSource  # noqa: PLC0415
    from changebot.adapters.github.client import GitHubClient  # noqa: PLC0415
    from changebot.render.audit import render_audit_json, render_audit_markdown, render_audit_text  # noqa: PLC0415
    from changebot.render.text import finding_line  # noqa: PLC0415
    from changebot.usecases import audit as audits  # noqa: PLC0415
    from changebot.usecases import evidence  # noqa: PLC0415

    if not args.repo or args.repo.count("/") != 1:
        raise UsageError("--repo must name a GitHub repository as OWNER/NAME", "or set GITHUB_REPOSITORY")
    token = args.token or env("--token") or os.environ.get("GITHUB_TOKEN")
    if not token:
        raise UsageError(
            "no GitHub token",
            "set CHANGEBOT_TOKEN or GITHUB_TOKEN (in Actions: env: GITHUB_TOKEN: ${{ github.token }}), or pass --token",
        )
    if args.sign_key and not args.evidence:
        raise UsageError("--sign-key signs the evidence: give --evidence FILE too")
    now = parse_now(args.now)
    days = _days(str(args.days))
    period = audits.since_period(_since(args.since), now) if args.since else audits.week_period(now)
    if period.since >= now:
        raise UsageError(f"--since {args.since} is not before --now {now.isoformat()}")
    signer = evidence.load_signer(args.sign_key) if args.sign_key else None
    on_actions = os.environ.get("GITHUB_ACTIONS") == "true"
    try:
        gov, failure = audits.read_governance(args.checkout, args.ref, now), None
    except audits.AuditFailed as exc:
        gov, failure = None, exc
    if failure is not None and not args.publish:
        raise failure  # nothing to write: the unreadable file is the whole answer
    login = audits.resolve_login(args.bot_login, gov, on_actions)
    client = GitHubClient(token, args.api_url, bot_login=login)
    try:
        source = AuditSource(client, args.repo, login)
        if gov is None or failure is not None:
            failure = failure or audits.AuditFailed("could not audit")
            if args.publish:
                published = audits.publish_failure(source, period, failure)
                print(
                    f"changebot: audit issue #{published.number} {published.action}: {published.url}", file=sys.stderr
                )
            raise failure
        result = audits.run_audit(source, gov, period, now, days, evidence=args.evidence is not None)
        for finding in result.findings:
            log.warning("%s", finding_line(finding))
        renderers = {"json": render_audit_json, "markdown": render_audit_markdown, "text": render_audit_text}
        emit(args, renderers, result.report)
        if args.evidence is not None:
            written = evidence.write(args.evidence, evidence.statement(args.repo, period, result), signer)
            print(f"changebot: evidence written to {written}", file=sys.stderr)
        if args.publish:
            _said(audits.publish_audit(source, period, result))
        log.info("GitHub API calls: %d", source.calls)
    finally:
        client.close()
    return 1 if result.report.unauthorised else 0
