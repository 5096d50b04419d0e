"""GitHub over PyGithub: the pull request snapshot, check runs, comments, labels, reactions, reviews, permissions.

This is the only module that touches PyGithub objects. Every answer is converted at this boundary into the
frozen dataclasses below (or ``changebot.model`` values), and every failure into ``GitHubError`` (see
``github_calls``). PyGithub objects are built lazily from URLs, so a method costs exactly the API calls its
docstring says; the Action's whole ``pull_request`` run is six calls for a PR of up to 100 files.

``base_url`` is GitHub's REST root: ``https://api.github.com``, ``https://HOST/api/v3`` for GitHub
Enterprise Server, or a test double on 127.0.0.1.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from changebot.adapters.github.calls import DEFAULT_API_URL, CallPolicy, GitHubError
from changebot.errors import ChangebotError
from changebot.model import ChangedFile, PullRequest

if TYPE_CHECKING:
    from github.IssueComment import IssueComment
    from github.Repository import Repository

log = logging.getLogger("changebot.github")

#: The login GitHub gives the Actions ``GITHUB_TOKEN``; an App's is ``<app-slug>[bot]``.
ACTIONS_BOT_LOGIN = "github-actions[bot]"
MAX_FILES = 3000  # GitHub lists at most 3000 files of a pull request

_STATUS = {"added": "A", "removed": "D", "modified": "M", "renamed": "R", "copied": "C", "changed": "T"}


@dataclass(frozen=True)
class Comment:
    """An issue comment on a pull request."""

    id: int
    author: str
    body: str
    author_type: str = "User"
    url: str = ""


@dataclass(frozen=True)
class CheckRun:
    """A check run as GitHub reports it."""

    id: int
    name: str
    head_sha: str
    status: str
    conclusion: str | None
    title: str | None
    summary: str | None
    annotations_count: int
    external_id: str | None = None


@dataclass(frozen=True)
class PullSnapshot:
    """The pull request as GitHub sees it now, with the facts changebot needs beyond ``model.PullRequest``."""

    pr: PullRequest
    repo: str
    head_repo: str | None
    fork: bool
    requested_reviewers: tuple[str, ...] = ()
    requested_teams: tuple[str, ...] = ()
    state: str = "open"
    changed_files: int | None = None

    @property
    def files_complete(self) -> bool:
        """False when GitHub's file listing stopped short: it lists at most ``MAX_FILES`` files of a pull request,
        and ``changed_files`` (when GitHub sent it) counts them all."""
        listed = len(self.pr.files)
        if self.changed_files is not None:
            return listed >= self.changed_files
        return listed < MAX_FILES


@dataclass(frozen=True)
class WorkflowRun:
    """A GitHub Actions workflow run, as much as the CI-spend reader needs."""

    id: int
    event: str
    head_branch: str | None
    status: str | None
    created_at: datetime | None


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _file(raw: Any) -> ChangedFile:
    status = _STATUS.get(str(raw.status), "M")
    old = getattr(raw, "previous_filename", None) if status in ("R", "C") else None
    return ChangedFile(status=status, path=str(raw.filename), old_path=str(old) if old else None)


def _comment(raw: Any) -> Comment:
    user = raw.user
    return Comment(
        id=int(raw.id),
        author=str(user.login) if user is not None else "",
        body=str(raw.body or ""),
        author_type=str(user.type) if user is not None and user.type else "User",
        url=str(raw.html_url or ""),
    )


def _check_run(raw: Any) -> CheckRun:
    output = raw.output
    return CheckRun(
        id=int(raw.id),
        name=str(raw.name),
        head_sha=str(raw.head_sha),
        status=str(raw.status),
        conclusion=str(raw.conclusion) if raw.conclusion else None,
        title=str(output.title) if output is not None and output.title else None,
        summary=str(output.summary) if output is not None and output.summary else None,
        annotations_count=int(output.annotations_count or 0) if output is not None else 0,
        external_id=str(raw.external_id) if raw.external_id else None,
    )


class GitHubClient:
    """One repository host. Construct once per token; methods take ``repo`` as ``owner/name``.

    ``bot_login`` is the login the token posts as (``github-actions[bot]`` for the Actions token, the App's
    ``slug[bot]`` for an installation). It is never asked from ``GET /user``: whoever holds a token is not
    changebot, so a client without it refuses every call that needs to know which comments are changebot's.
    """

    def __init__(
        self,
        token: str,
        base_url: str = DEFAULT_API_URL,
        *,
        bot_login: str | None = None,
        policy: CallPolicy | None = None,
        timeout: int = 30,
        per_page: int = 100,
    ) -> None:
        from github import Auth, Github  # noqa: PLC0415 - PyGithub is heavy: loaded on first use

        self.base_url = base_url.rstrip("/")
        self.policy = policy or CallPolicy()
        self._bot_login = bot_login
        # retry=None: no blind retries by PyGithub (see github_calls); CallPolicy decides instead.
        self._gh = Github(
            auth=Auth.Token(token),
            base_url=self.base_url,
            timeout=timeout,
            per_page=per_page,
            retry=None,
            seconds_between_requests=None,
            seconds_between_writes=None,
            lazy=True,
            user_agent="changebot",
        )

    def close(self) -> None:
        """Release the HTTP connection pool."""
        self._gh.close()

    def _repo(self, repo: str) -> Repository:
        if repo.count("/") != 1 or not all(repo.split("/")):
            raise GitHubError(f"repository {repo!r} is not of the form owner/name")
        return self._gh.get_repo(repo)

    def _issue_comment(self, repo: str, comment_id: int) -> IssueComment:
        from github.IssueComment import IssueComment  # noqa: PLC0415 - see __init__

        handle = self._repo(repo)
        return IssueComment(handle.requester, url=f"{handle.url}/issues/comments/{int(comment_id)}")

    def _read(self, what: str, call: Callable[[], Any]) -> Any:
        return self.policy.run(what, call, idempotent=True)

    # --- identity and permissions -------------------------------------------------------------------

    @property
    def bot_login(self) -> str:
        """The login changebot posts as; ``ChangebotError`` when it was not configured."""
        if self._bot_login is None:
            raise ChangebotError(
                "changebot's own login is not known, so its comments cannot be told from anyone else's",
                "set CHANGEBOT_BOT_LOGIN (the App's '<slug>[bot]', or github-actions[bot] for the Action)",
            )
        return self._bot_login

    def permission(self, repo: str, user: str) -> str:
        """``admin``, ``maintain``, ``write``, ``triage``, ``read`` or ``none`` for ``user`` (1 call).

        Uses the collaborator-permission API; ``role_name`` distinguishes maintain/triage, which the legacy
        ``permission`` field folds into write/read.
        """

        def call() -> str:
            handle = self._repo(repo)
            _, data = handle.requester.requestJsonAndCheck(
                "GET", f"{handle.url}/collaborators/{_quote(user)}/permission"
            )
            role = str(data.get("role_name") or "")
            return role if role in ("admin", "maintain", "write", "triage", "read") else str(data["permission"])

        try:
            return str(self._read(f"GET permission of {user}", call))
        except GitHubError as exc:
            if exc.status == 404:  # not a collaborator at all
                return "none"
            raise

    # --- the pull request -------------------------------------------------------------------------

    def pull_request(self, repo: str, number: int, event: str = "pull_request", files: bool = True) -> PullSnapshot:
        """The PR and its changed files (1 call + 1 per 100 files); without ``files``, the PR alone (1 call: the
        changed files then come from git, ``usecases.plan.context``). Fields GitHub's description does not require
        (``labels``, ``requested_reviewers``, ``requested_teams``, ``draft``, ``user``...) may be absent."""
        pull = self._repo(repo).get_pull(number)

        def fetch() -> PullSnapshot:
            head_repo = pull.head.repo.full_name if pull.head.repo is not None else None
            pr = PullRequest(
                event=event,
                number=pull.number,
                base_branch=pull.base.ref,
                head_branch=pull.head.ref,
                base_sha=pull.base.sha,
                head_sha=pull.head.sha,
                author=pull.user.login if pull.user is not None else None,
                title=pull.title or "",
                labels=tuple(label.name for label in pull.labels or ()),
                draft=bool(pull.draft),
            )
            return PullSnapshot(
                pr=pr,
                repo=repo,
                head_repo=head_repo,
                fork=head_repo is not None and head_repo.lower() != repo.lower(),
                requested_reviewers=tuple(u.login for u in pull.requested_reviewers or ()),
                requested_teams=tuple(t.slug for t in pull.requested_teams or ()),
                state=pull.state,
                changed_files=_count(pull.changed_files),
            )

        snapshot: PullSnapshot = self._read(f"GET pull request {repo}#{number}", fetch)
        if not files:
            return snapshot
        return replace(snapshot, pr=replace(snapshot.pr, files=self.changed_files(repo, number)))

    def open_pulls_into(self, repo: str, base: str, limit: int) -> tuple[PullRequest, ...]:
        """Up to ``limit`` open pull requests targeting ``base``, most recently updated first (1 call per 100)."""

        def fetch() -> list[PullRequest]:
            out: list[PullRequest] = []
            for pull in self._repo(repo).get_pulls(state="open", base=base, sort="updated", direction="desc"):
                if len(out) >= limit:
                    break
                out.append(
                    PullRequest(
                        number=pull.number,
                        base_branch=pull.base.ref,
                        base_sha=pull.base.sha,
                        head_sha=pull.head.sha,
                        title=pull.title or "",
                    )
                )
            return out

        return tuple(self._read(f"GET open pull requests of {repo} into {base}", fetch))

    def changed_files(self, repo: str, number: int) -> tuple[ChangedFile, ...]:
        """Every changed file, following pagination (1 call per 100 files; GitHub stops at 3000)."""
        pull = self._repo(repo).get_pull(number)
        return tuple(self._read(f"GET files of {repo}#{number}", lambda: [_file(f) for f in pull.get_files()]))

    def open_pulls(self, repo: str, base: str | None = None) -> tuple[int, ...]:
        """The numbers of the open pull requests (targeting ``base`` when given), oldest first (1 call per 100)."""
        handle = self._repo(repo)

        def fetch() -> list[int]:
            pulls = handle.get_pulls(state="open", base=base) if base else handle.get_pulls(state="open")
            return sorted(p.number for p in pulls)

        return tuple(self._read(f"GET open pull requests of {repo}", fetch))

    def commit_pulls(self, repo: str, sha: str) -> tuple[int, ...]:
        """The numbers of the pull requests that carried commit ``sha`` (merged or open; 1 call, the first 100)."""
        handle = self._repo(repo)

        def fetch() -> list[int]:
            _, data = handle.requester.requestJsonAndCheck(
                "GET", f"{handle.url}/commits/{_quote(sha)}/pulls", parameters={"per_page": 100}
            )
            return sorted(int(p["number"]) for p in data or [] if isinstance(p, dict) and "number" in p)

        return tuple(self._read(f"GET pull requests of commit {sha[:12]} in {repo}", fetch))

    def review_deployment(
        self, repo: str, run_id: int, environment: str, comment: str, state: str | None = None
    ) -> None:
        """Answer a deployment protection rule of workflow run ``run_id`` (1 call): ``state`` ``approved`` or
        ``rejected``, or ``None`` for a status report that leaves the deployment pending."""
        handle = self._repo(repo)
        body: dict[str, Any] = {"environment_name": environment, "comment": comment}
        if state is not None:
            body["state"] = state
        self.policy.run(
            f"POST deployment protection rule of run {run_id} in {repo}",
            lambda: handle.requester.requestJsonAndCheck(
                "POST", f"{handle.url}/actions/runs/{int(run_id)}/deployment_protection_rule", input=body
            ),
            idempotent=False,
        )

    # --- comments ---------------------------------------------------------------------------------

    def comments(self, repo: str, number: int) -> tuple[Comment, ...]:
        """Every issue comment on the PR, oldest first (1 call per 100 comments)."""
        issue = self._repo(repo).get_issue(number)
        return tuple(
            self._read(f"GET comments of {repo}#{number}", lambda: [_comment(c) for c in issue.get_comments()])
        )

    def create_comment(self, repo: str, number: int, body: str, *, exists: Callable[[Comment], bool]) -> Comment:
        """Post a comment (1 call). On a 5xx, the comments are listed and one that ``exists`` is used instead."""
        issue = self._repo(repo).get_issue(number)

        def recover() -> Comment | None:
            login = self.bot_login
            found = [c for c in self.comments(repo, number) if c.author == login and exists(c)]
            return found[-1] if found else None

        return self.policy.run(
            f"POST comment on {repo}#{number}",
            lambda: _comment(issue.create_comment(body)),
            idempotent=False,
            recover=recover,
        )

    def edit_comment(self, repo: str, comment_id: int, body: str) -> Comment:
        """Replace a comment's body (1 call)."""
        comment = self._issue_comment(repo, comment_id)

        def call() -> Comment:
            comment.edit(body)
            return _comment(comment)

        return self.policy.run(f"PATCH comment {comment_id} in {repo}", call, idempotent=True)

    def add_reaction(self, repo: str, comment_id: int, content: str) -> None:
        """React to a comment (1 call; GitHub answers 200 for a reaction that is already there)."""
        comment = self._issue_comment(repo, comment_id)
        self.policy.run(
            f"POST reaction on comment {comment_id}", lambda: comment.create_reaction(content), idempotent=True
        )

    # --- labels and reviews ----------------------------------------------------------------------

    def add_labels(self, repo: str, number: int, labels: Sequence[str]) -> None:
        """Add labels (1 call; adding a label that is there is a no-op on GitHub)."""
        if labels:
            # Not Issue.add_to_labels: it sends a bare array, which GitHub's OpenAPI schema does not allow.
            handle = self._repo(repo)
            self.policy.run(
                f"POST labels on {repo}#{number}",
                lambda: handle.requester.requestJsonAndCheck(
                    "POST", f"{handle.url}/issues/{int(number)}/labels", input={"labels": list(labels)}
                ),
                idempotent=True,
            )

    def approvals(self, repo: str, number: int) -> tuple[str, ...]:
        """Logins whose latest review of the PR approves it (1 call per 100 reviews). A later "changes
        requested" or a dismissal takes an approval back; comments leave it standing."""
        pull = self._repo(repo).get_pull(number)
        latest: dict[str, str] = {}
        for login, state in self._read(
            f"GET reviews of {repo}#{number}",
            lambda: [(r.user.login, str(r.state)) for r in pull.get_reviews() if r.user is not None],
        ):
            if state in ("APPROVED", "CHANGES_REQUESTED", "DISMISSED"):
                latest[login] = state
        return tuple(sorted(login for login, state in latest.items() if state == "APPROVED"))

    def request_reviews(self, repo: str, number: int, reviewers: Sequence[str], teams: Sequence[str] = ()) -> None:
        """Request reviews from users and teams (1 call; requesting an existing reviewer again is a no-op)."""
        if not reviewers and not teams:
            return
        pull = self._repo(repo).get_pull(number)
        kwargs: dict[str, Any] = {}
        if reviewers:
            kwargs["reviewers"] = list(reviewers)
        if teams:
            kwargs["team_reviewers"] = list(teams)
        self.policy.run(
            f"POST review request on {repo}#{number}", lambda: pull.create_review_request(**kwargs), idempotent=True
        )

    # --- check runs --------------------------------------------------------------------------------

    def check_runs(self, repo: str, head_sha: str, name: str) -> tuple[CheckRun, ...]:
        """The check runs called ``name`` on ``head_sha``, newest first (1 call)."""
        commit = self._repo(repo).get_commit(head_sha)
        return tuple(
            self._read(
                f"GET check runs of {head_sha[:12]}",
                lambda: [_check_run(r) for r in commit.get_check_runs(check_name=name, filter="latest")],
            )
        )

    def create_check_run(self, repo: str, name: str, head_sha: str, fields: dict[str, Any]) -> CheckRun:
        """Create a check run (1 call). On a 5xx, one already there with this name and SHA is used instead."""
        handle = self._repo(repo)

        def recover() -> CheckRun | None:
            found = self.check_runs(repo, head_sha, name)
            return found[0] if found else None

        return self.policy.run(
            f"POST check run {name!r} on {head_sha[:12]}",
            lambda: _check_run(handle.create_check_run(name=name, head_sha=head_sha, **fields)),
            idempotent=False,
            recover=recover,
        )

    def update_check_run(self, repo: str, check_run_id: int, fields: dict[str, Any]) -> CheckRun:
        """Update a check run (1 call). Annotations in ``output`` are appended by GitHub, at most 50 a call."""
        run = self._repo(repo).get_check_run(check_run_id)

        def call() -> CheckRun:
            run.edit(**fields)
            return _check_run(run)

        return self.policy.run(f"PATCH check run {check_run_id}", call, idempotent=True)

    # --- Actions -----------------------------------------------------------------------------------

    def workflow_runs(self, repo: str, created: str, limit: int = 1000) -> tuple[WorkflowRun, ...]:
        """Workflow runs created in ``created`` (GitHub search syntax, e.g. ``>=2026-11-01``), at most ``limit``."""
        handle = self._repo(repo)

        def fetch() -> list[WorkflowRun]:
            out: list[WorkflowRun] = []
            for run in handle.get_workflow_runs(created=created):
                out.append(WorkflowRun(run.id, run.event, run.head_branch, run.status, run.created_at))
                if len(out) >= limit:
                    break
            return out

        return tuple(self._read(f"GET workflow runs of {repo}", fetch))

    def run_billable_minutes(self, repo: str, run_id: int) -> dict[str, int]:
        """Billable minutes per runner OS of one run, each job rounded up to a whole minute as GitHub bills (1 call)."""
        run = self._repo(repo).get_workflow_run(run_id)

        def fetch() -> dict[str, int]:
            out: dict[str, int] = {}
            billable: dict[str, Any] = dict(run.timing().billable or {})
            for os_name, raw in billable.items():
                entry: dict[str, Any] = raw if isinstance(raw, dict) else {}
                job_runs: list[Any] = entry.get("job_runs") or []
                jobs = [int(j.get("duration_ms") or 0) for j in job_runs if isinstance(j, dict)]
                if not jobs and entry.get("total_ms"):
                    jobs = [int(entry["total_ms"])]
                out[str(os_name)] = sum(-(-ms // 60_000) for ms in jobs)
            return out

        return dict(self._read(f"GET timing of run {run_id}", fetch))


def _quote(value: str) -> str:
    return quote(value, safe="")
