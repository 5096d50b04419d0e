"""GitHub reads and writes for the freeze audit: merged and open pull requests, stored overrides, the issue.

API calls are the cost that matters on a large repository, so pull requests are listed newest-updated first
(100 per page) and the listing stops at the first page older than the audited period: a PR merged in the
period was updated in it. Overrides are read only from pull requests that need them (merged during a freeze,
or open); the merging user is fetched per merge (the list API does not carry it).

changebot's own comments and issues are recognised by ``login`` alone, which the caller resolves (the App's
identity, ``github-actions[bot]`` in the Action, or settings): never by asking GitHub who the token is.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any

from changebot.adapters.github.client import Comment, GitHubClient
from changebot.core import sticky
from changebot.core.audit import PullSummary
from changebot.model import Override

AUDIT_LABEL = "changebot-audit"
_NEXT = re.compile(r'<([^>]+)>;\s*rel="next"')


def _when(value: Any) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _summary(raw: dict[str, Any]) -> PullSummary:
    merged_by = raw.get("merged_by") or {}
    return PullSummary(
        number=int(raw["number"]),
        title=str(raw.get("title") or ""),
        url=str(raw.get("html_url") or ""),
        base_branch=str((raw.get("base") or {}).get("ref") or ""),
        author=str((raw.get("user") or {}).get("login") or "") or None,
        merged_at=_when(raw.get("merged_at")),
        merged_by=str(merged_by.get("login")) if merged_by.get("login") else None,
        head_sha=str((raw.get("head") or {}).get("sha") or "") or None,
        merge_commit=str(raw.get("merge_commit_sha") or "") or None,
    )


@dataclass
class AuditSource:
    """Reads for one repository; ``login`` is changebot's own (whose sticky comments and audit issues count);
    ``calls`` counts the API requests made (for the benchmark and the log)."""

    client: GitHubClient
    repo: str
    login: str
    calls: int = 0
    #: The name of changebot's check run (``github.check_name`` of the settings).
    check_name: str = "changebot"
    #: The sticky comment each override list was read from, by pull request number (for the evidence).
    sticky_urls: dict[int, str] = field(default_factory=dict)

    def _pages(self, path: str, params: dict[str, Any]) -> Iterator[list[dict[str, Any]]]:
        handle = self.client._repo(self.repo)
        url: str | None = f"{handle.url}{path}"
        query: dict[str, Any] | None = {**params, "per_page": 100}
        while url is not None:
            target, args = url, query

            def fetch(target: str = target, args: dict[str, Any] | None = args) -> tuple[dict[str, Any], Any]:
                headers, data = handle.requester.requestJsonAndCheck("GET", target, parameters=args)
                return headers, data

            headers, data = self.client._read(f"GET {path} of {self.repo}", fetch)
            self.calls += 1
            yield list(data or [])
            link = {k.lower(): v for k, v in (headers or {}).items()}.get("link", "")
            found = _NEXT.search(link)
            url, query = (found.group(1), None) if found else (None, None)

    def merged_since(self, since: datetime, branches: tuple[str, ...]) -> list[PullSummary]:
        """Pull requests into ``branches`` merged at or after ``since`` (closed-unmerged ones are skipped)."""
        out: list[PullSummary] = []
        for branch in branches:
            for page in self._pages(
                "/pulls", {"state": "closed", "base": branch, "sort": "updated", "direction": "desc"}
            ):
                for raw in page:
                    summary = _summary(raw)
                    if summary.merged_at is not None and summary.merged_at >= since:
                        out.append(summary)
                oldest = _when(page[-1].get("updated_at")) if page else None
                if oldest is None or oldest < since:
                    break
        return out

    def open_pulls(self, branches: tuple[str, ...]) -> list[PullSummary]:
        """Open pull requests targeting ``branches``."""
        return [
            _summary(raw)
            for branch in branches
            for page in self._pages("/pulls", {"state": "open", "base": branch})
            for raw in page
        ]

    def merged_by(self, pr: PullSummary) -> PullSummary:
        """``pr`` with the user who merged it (one call)."""
        handle = self.client._repo(self.repo)
        url = f"{handle.url}/pulls/{pr.number}"
        _, data = self.client._read(
            f"GET pull request {self.repo}#{pr.number}",
            lambda: handle.requester.requestJsonAndCheck("GET", url),
        )
        self.calls += 1
        return _summary(data)

    def check_conclusion(self, head_sha: str, name: str) -> str | None:
        """The conclusion of the latest check run called ``name`` on ``head_sha`` (1 call); ``None`` when there
        is none or it has not completed."""
        runs = self.client.check_runs(self.repo, head_sha, name)
        self.calls += 1
        return runs[0].conclusion if runs else None

    def _records(self, comments: Sequence[Comment]) -> list[str]:
        """What changebot's check runs record on the heads ``comments`` name, for a shared login (else none)."""
        if not sticky.needs_record(self.login):
            return []
        records: list[str] = []
        for head in sticky.heads(comments, self.login):
            records.extend(r.external_id or "" for r in self.client.check_runs(self.repo, head, self.check_name))
            self.calls += 1
        return records

    def _choose(self, number: int, comments: Sequence[Comment]) -> list[Override] | None:
        found = sticky.find(comments, self.login, self._records(comments))
        if found is None:
            return None
        self.sticky_urls[number] = found[0].url
        return list(found[1])

    def overrides(self, number: int) -> list[Override]:
        """Overrides stored in changebot's own sticky comment on ``number`` (recognised as ``core.sticky``
        says: by login, and for a shared login by its check run's record; a forged marker is ignored)."""
        comments = self.client.comments(self.repo, number)
        self.calls += 1 + len(comments) // 100
        return self._choose(number, comments) or []

    def overrides_of(self, numbers: set[int], since: datetime) -> dict[int, list[Override]]:
        """Overrides of many pull requests: one repository-wide listing of comments updated since ``since``
        (100 per call), then one call per pull request whose sticky comment was not among them."""
        login = self.login
        candidates: dict[int, list[Comment]] = {}
        stamp = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        for page in self._pages("/issues/comments", {"since": stamp}):
            for raw in page:
                number = int(str(raw.get("issue_url") or "0").rsplit("/", 1)[-1] or 0)
                body = str(raw.get("body") or "")
                if number in numbers and (raw.get("user") or {}).get("login") == login:
                    comment = Comment(int(raw.get("id") or 0), login, body, url=str(raw.get("html_url") or ""))
                    candidates.setdefault(number, []).append(comment)  # oldest first, as the PR comment uses
        found: dict[int, list[Override]] = {}
        for number, comments in candidates.items():
            chosen = self._choose(number, comments)
            if chosen is not None:
                found[number] = chosen
        for number in sorted(numbers - set(found)):
            found[number] = self.overrides(number)
        return found


def period_marker(period: str) -> str:
    """The hidden marker that identifies the audit issue of one period."""
    return f"<!-- changebot:audit-period {period} -->"


@dataclass(frozen=True)
class Published:
    """What publishing did: the issue number, and whether it was created, updated, or already current."""

    number: int
    action: str
    url: str
    closed_duplicates: tuple[int, ...] = ()


def content_marker(digest: str) -> str:
    """The hidden marker carrying the digest of what an audit issue says (not when it was generated)."""
    return f"<!-- changebot:audit-content {digest} -->"


def publish_issue(source: AuditSource, period: str, title: str, body: str, digest: str) -> Published:
    """Create the period's audit issue once, then edit it in place (idempotent across reruns).

    ``digest`` names the content: an open issue with the same title whose body carries the same digest is left
    alone, so a scheduled rerun with nothing new writes nothing even though its body would show a later time.

    The issue is found by label, author (changebot's own login) and the period marker. Two runs racing may both
    create one; whichever runs the check after creating keeps the oldest and closes the others as duplicates,
    so the repository converges to one issue per period.
    """
    marker = period_marker(period)
    full = f"{marker}\n{content_marker(digest)}\n{body}"
    client, repo = source.client, source.repo
    handle = client._repo(repo)

    def existing() -> list[dict[str, Any]]:
        login = source.login
        found = [
            raw
            for page in source._pages("/issues", {"state": "all", "labels": AUDIT_LABEL, "creator": login})
            for raw in page
        ]
        return sorted(
            (
                raw
                for raw in found
                if marker in str(raw.get("body") or "") and (raw.get("user") or {}).get("login") == login
            ),
            key=lambda raw: int(raw["number"]),
        )

    def write(method: str, url: str, fields: dict[str, Any]) -> dict[str, Any]:
        _, data = handle.requester.requestJsonAndCheck(method, url, input=fields)
        source.calls += 1
        return dict(data)

    current = existing()
    if not current:

        def recover() -> dict[str, Any] | None:
            again = existing()
            return again[0] if again else None

        created = client.policy.run(
            f"POST issue to {repo}",
            lambda: write("POST", f"{handle.url}/issues", {"title": title, "body": full, "labels": [AUDIT_LABEL]}),
            idempotent=False,
            recover=recover,
        )
        current = existing() or [created]
        action = "created"
    else:
        action = "unchanged"
    keep, extra = current[0], current[1:]
    closed: list[int] = []
    for duplicate in extra:
        if duplicate.get("state") != "closed":
            fields = {
                "state": "closed",
                "state_reason": "not_planned",
                "body": f"{marker}\nDuplicate of #{keep['number']} (two audit runs raced).",
            }
            url = f"{handle.url}/issues/{duplicate['number']}"
            client.policy.run(f"PATCH issue {url}", partial(write, "PATCH", url, fields), idempotent=True)
            closed.append(int(duplicate["number"]))
    if action == "unchanged" and (
        content_marker(digest) not in str(keep.get("body") or "")
        or keep.get("title") != title
        or keep.get("state") != "open"
    ):
        client.policy.run(
            f"PATCH issue {repo}#{keep['number']}",
            lambda: write(
                "PATCH", f"{handle.url}/issues/{keep['number']}", {"title": title, "body": full, "state": "open"}
            ),
            idempotent=True,
        )
        action = "updated"
    return Published(int(keep["number"]), action, str(keep.get("html_url") or ""), tuple(closed))
