"""A GitHub REST double: a real HTTP server on 127.0.0.1 that keeps pull requests, comments and check runs.

PyGithub (and so changebot) talks to it through ``base_url``, exactly as it talks to api.github.com. It is
checked against GitHub's official OpenAPI description (``tests/octokit.py``): every route it serves must exist
there with that method, and every request changebot sends — body (JSON Schema of the operation's
``requestBody``), query parameters and the status the double answers — is validated. Problems are collected in
``violations``; the ``github`` fixture fails the test when any remain at teardown.

State is plain dicts and lists, public on purpose, so tests arrange it and assert on it::

    double = GitHubDouble(token="t", spec=spec)
    pr = double.add_pull("octo/app", 7, head_sha="a"*40, base_sha="b"*40, files=["a.txt"])
    double.fail_next("POST", "/repos/{owner}/{repo}/issues/{issue_number}/comments", 502, apply=True)
    ... run changebot ...
    assert len(double.comments["octo/app"][7]) == 1

``GitHubDouble(required_only=True)`` answers only the fields GitHub's description marks required (a pull request
without ``requested_reviewers``...): every other field is optional to changebot.
Like GitHub, the files of a pull request are listed up to ``MAX_PULL_FILES`` (3,000); the pull request's
``changed_files`` counts them all.

``fail_next(..., apply=True)`` runs the handler (the object is created) and answers the error anyway: the
"GitHub created it, then said 502" case. ``requests`` logs every call, for counting.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.support.github_spec import Call, SpecChecker

__all__ = ["ROUTES", "Call", "GitHubDouble", "Pull", "Server", "SpecChecker", "route"]

Handler = Callable[["Call"], tuple[int, Any]]

ROUTES: list[tuple[str, str]] = []
#: GitHub's "list pull request files" stops here; ``changed_files`` on the pull request counts every file.
MAX_PULL_FILES = 3000
_HANDLERS: dict[tuple[str, str], str] = {}


def route(method: str, template: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a method of ``GitHubDouble`` as the handler of ``method template`` (an OpenAPI path)."""

    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        ROUTES.append((method, template))
        _HANDLERS[(method, template)] = fn.__name__
        return fn

    return deco


def _regex(template: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template)) + "$")


@dataclass
class Fault:
    method: str
    template: str
    status: int
    headers: dict[str, str]
    body: dict[str, Any]
    apply: bool
    times: int


@dataclass
class Pull:
    """A pull request held by the double."""

    repo: str
    number: int
    head_sha: str
    base_sha: str
    base_ref: str = "main"
    head_ref: str = "feature"
    head_repo: str | None = None
    author: str = "octocat"
    title: str = "A change"
    draft: bool = False
    labels: list[str] = field(default_factory=list)
    files: list[dict[str, Any]] = field(default_factory=list)
    reviewers: list[str] = field(default_factory=list)
    teams: list[str] = field(default_factory=list)
    reviews: list[tuple[str, str]] = field(default_factory=list)  # (login, state), oldest first
    state: str = "open"
    merged_at: str | None = None
    merged_by: str | None = None
    updated_at: str | None = None
    merge_commit_sha: str | None = None


class GitHubDouble:
    """The double's state and handlers; ``serve()`` runs it on 127.0.0.1."""

    def __init__(
        self,
        token: str = "test-token",  # noqa: S107 - a test double's fixed token
        spec: dict[str, Any] | None = None,
        checker: SpecChecker | None = None,
        bot_login: str = "changebot[bot]",
        required_only: bool = False,
    ) -> None:
        self.token = token
        self.required_only = required_only
        self.bot_login = bot_login
        self.checker = checker or (SpecChecker(spec) if spec is not None else None)
        self.lock = threading.RLock()
        self.requests: list[Call] = []
        self.violations: list[str] = []
        self.faults: list[Fault] = []
        self.pulls: dict[str, dict[int, Pull]] = {}
        self.comments: dict[str, dict[int, list[dict[str, Any]]]] = {}
        self.check_runs: dict[str, list[dict[str, Any]]] = {}
        self.reactions: dict[int, list[dict[str, Any]]] = {}
        self.permissions: dict[str, dict[str, str]] = {}
        self.workflow_runs: dict[str, list[dict[str, Any]]] = {}
        self.timings: dict[int, dict[str, Any]] = {}
        self.issues: dict[str, list[dict[str, Any]]] = {}
        # Per repository, the pull requests that carried each commit (``GET .../commits/{sha}/pulls``), and
        # every answer to a deployment protection rule, in order (``{"run_id", **body}``).
        self.commit_pulls: dict[str, dict[str, list[int]]] = {}
        self.deployment_reviews: list[dict[str, Any]] = []
        # The App's installations: id -> repositories (``owner/name``); per repository its clone URL and
        # default branch. ``/app/...`` routes take the App JWT, checked by ``jwt_verifier`` (none: refused);
        # installation tokens issued by ``POST /app/installations/{id}/access_tokens`` are accepted elsewhere.
        self.installations: dict[int, list[str]] = {}
        self.suspended: set[int] = set()
        self.clone_urls: dict[str, str] = {}
        self.default_branches: dict[str, str] = {}
        self.jwt_verifier: Callable[[str], bool] | None = None
        self.installation_tokens: dict[str, int] = {}
        self._next_id = 1000
        self.base_url = ""
        self._routes = [(m, t, _regex(t), getattr(self, _HANDLERS[(m, t)])) for m, t in ROUTES]
        if self.checker is not None:
            for method, template in ROUTES:
                if self.checker.operation(method, template) is None:
                    self.violations.append(f"double serves {method} {template}, which GitHub does not have")

    # --- arranging ---------------------------------------------------------------------------------

    def new_id(self) -> int:
        with self.lock:
            self._next_id += 1
            return self._next_id

    def add_pull(
        self, repo: str, number: int, head_sha: str, base_sha: str, files: list[str] | None = None, **kw: Any
    ) -> Pull:
        """A pull request whose changed files are ``files`` (all ``modified``)."""
        pull = Pull(repo, number, head_sha, base_sha, **kw)
        pull.files = [{"filename": f, "status": "modified"} for f in files or []]
        self.pulls.setdefault(repo, {})[number] = pull
        self.comments.setdefault(repo, {}).setdefault(number, [])
        return pull

    def add_comment(self, repo: str, number: int, body: str, author: str, author_type: str = "User") -> dict[str, Any]:
        """A comment on the PR as if ``author`` had written it."""
        comment = self._comment_json(repo, self.new_id(), body, author, author_type)
        self.comments.setdefault(repo, {}).setdefault(number, []).append(comment)
        return comment

    def add_run(
        self,
        repo: str,
        event: str,
        created_at: str,
        job_ms: dict[str, list[int]],
        head_branch: str = "main",
        status: str = "completed",
    ) -> int:
        """A workflow run whose jobs took ``job_ms`` milliseconds per runner OS (``UBUNTU``, ``MACOS``...)."""
        run_id = self.new_id()
        self.workflow_runs.setdefault(repo, []).append(
            {
                "id": run_id,
                "name": "ci",
                "event": event,
                "head_branch": head_branch,
                "status": status,
                "conclusion": "success" if status == "completed" else None,
                "created_at": created_at,
                "url": f"{self.base_url}/repos/{repo}/actions/runs/{run_id}",
            }
        )
        self.timings[run_id] = {
            "billable": {
                os_name: {
                    "total_ms": sum(durations),
                    "jobs": len(durations),
                    "job_runs": [{"job_id": i + 1, "duration_ms": ms} for i, ms in enumerate(durations)],
                }
                for os_name, durations in job_ms.items()
            },
            "run_duration_ms": sum(sum(d) for d in job_ms.values()),
        }
        return run_id

    def fail_next(
        self,
        method: str,
        template: str,
        status: int,
        *,
        headers: dict[str, str] | None = None,
        message: str = "Server Error",
        apply: bool = False,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` matching requests with ``status`` (after doing the work when ``apply``)."""
        assert (method, template) in _HANDLERS, f"the double does not serve {method} {template}"
        self.faults.append(Fault(method, template, status, headers or {}, {"message": message}, apply, times))

    def calls(self, method: str | None = None, template: str | None = None) -> list[Call]:
        """Requests received, optionally only those of one operation."""
        return [
            c
            for c in self.requests
            if (method is None or c.method == method) and (template is None or c.template == template)
        ]

    # --- JSON shapes -------------------------------------------------------------------------------

    def _user(self, login: str, kind: str | None = None) -> dict[str, Any]:
        kind = kind or ("Bot" if login.endswith("[bot]") else "User")
        return {"login": login, "id": abs(hash(login)) % 10**7, "type": kind, "url": f"{self.base_url}/users/{login}"}

    def _comment_json(self, repo: str, cid: int, body: str, author: str, kind: str | None = None) -> dict[str, Any]:
        now = datetime.now(UTC).isoformat()
        return {
            "id": cid,
            "body": body,
            "user": self._user(author, kind),
            "url": f"{self.base_url}/repos/{repo}/issues/comments/{cid}",
            "html_url": f"https://github.invalid/{repo}/pull/0#issuecomment-{cid}",
            "created_at": now,
            "updated_at": now,
        }

    def _repo_json(self, full: str) -> dict[str, Any]:
        owner, name = full.split("/")
        return {
            "id": abs(hash(full)) % 10**7,
            "name": name,
            "full_name": full,
            "owner": self._user(owner, "User"),
            "url": f"{self.base_url}/repos/{full}",
        }

    def _pull_json(self, pull: Pull) -> dict[str, Any]:
        head_repo = pull.head_repo or pull.repo
        return {
            "id": pull.number * 7,
            "number": pull.number,
            "state": pull.state,
            "merged_at": pull.merged_at,
            "merged_by": self._user(pull.merged_by) if pull.merged_by else None,
            "merge_commit_sha": pull.merge_commit_sha,
            "updated_at": pull.updated_at or pull.merged_at or "2025-01-01T00:00:00Z",
            "html_url": f"https://github.invalid/{pull.repo}/pull/{pull.number}",
            "title": pull.title,
            "draft": pull.draft,
            "user": self._user(pull.author),
            "url": f"{self.base_url}/repos/{pull.repo}/pulls/{pull.number}",
            "labels": [{"name": name, "id": abs(hash(name)) % 10**6} for name in pull.labels],
            "base": {"ref": pull.base_ref, "sha": pull.base_sha, "repo": self._repo_json(pull.repo)},
            "head": {"ref": pull.head_ref, "sha": pull.head_sha, "repo": self._repo_json(head_repo)},
            "changed_files": len(pull.files),
            "requested_reviewers": [self._user(u) for u in pull.reviewers],
            "requested_teams": [{"slug": t, "name": t, "id": abs(hash(t)) % 10**6} for t in pull.teams],
        }

    def _check_json(self, repo: str, run: dict[str, Any]) -> dict[str, Any]:
        out = {k: v for k, v in run.items() if not k.startswith("_")}
        out["url"] = f"{self.base_url}/repos/{repo}/check-runs/{run['id']}"
        out["output"] = {**run["output"], "annotations_count": len(run["_annotations"])}
        return out

    def _page(self, call: Call, items: list[Any]) -> tuple[list[Any], dict[str, str]]:
        per_page = int(call.query.get("per_page", ["30"])[0])
        page = int(call.query.get("page", ["1"])[0])
        chunk = items[(page - 1) * per_page : page * per_page]
        headers: dict[str, str] = {}
        if page * per_page < len(items):
            query = {k: v[0] for k, v in call.query.items()}
            query["page"] = str(page + 1)
            query["per_page"] = str(per_page)
            link = f"{self.base_url}{call.path}?" + "&".join(f"{k}={v}" for k, v in query.items())
            headers["Link"] = f'<{link}>; rel="next"'
        return chunk, headers

    def _pull(self, call: Call) -> Pull:
        repo = f"{call.params['owner']}/{call.params['repo']}"
        number = int(call.params.get("pull_number") or call.params["issue_number"])
        try:
            return self.pulls[repo][number]
        except KeyError:
            raise LookupError from None

    # --- handlers ----------------------------------------------------------------------------------

    @route("GET", "/user")
    def get_user(self, call: Call) -> Any:
        return 200, self._user(self.bot_login)

    @route("GET", "/repos/{owner}/{repo}/pulls/{pull_number}")
    def get_pull(self, call: Call) -> Any:
        return 200, self._pull_json(self._pull(call))

    @route("GET", "/repos/{owner}/{repo}/pulls/{pull_number}/files")
    def get_files(self, call: Call) -> Any:
        # Like GitHub: at most MAX_PULL_FILES files are listed; the pull request's changed_files counts them all.
        chunk, headers = self._page(call, self._pull(call).files[:MAX_PULL_FILES])
        return 200, chunk, headers

    @route("GET", "/repos/{owner}/{repo}/pulls/{pull_number}/reviews")
    def list_reviews(self, call: Call) -> Any:
        pull = self._pull(call)
        reviews = [
            {
                "id": i + 1,
                "user": self._user(login),
                "state": state,
                "body": "",
                "commit_id": pull.head_sha,
                "submitted_at": f"2025-12-01T00:00:{i:02d}Z",
                "html_url": "https://github.invalid/r",
                "pull_request_url": f"{self.base_url}/repos/{pull.repo}/pulls/{pull.number}",
                "author_association": "MEMBER",
                "node_id": f"R{i}",
                "_links": {"html": {"href": "https://github.invalid/r"}, "pull_request": {"href": "x"}},
            }
            for i, (login, state) in enumerate(pull.reviews)
        ]
        chunk, headers = self._page(call, reviews)
        return 200, chunk, headers

    @route("GET", "/repos/{owner}/{repo}/issues/{issue_number}/comments")
    def list_comments(self, call: Call) -> Any:
        pull = self._pull(call)
        chunk, headers = self._page(call, self.comments[pull.repo][pull.number])
        return 200, chunk, headers

    @route("POST", "/repos/{owner}/{repo}/issues/{issue_number}/comments")
    def create_comment(self, call: Call) -> Any:
        pull = self._pull(call)
        comment = self._comment_json(pull.repo, self.new_id(), call.body["body"], self.bot_login)
        self.comments[pull.repo][pull.number].append(comment)
        return 201, comment

    def _find_comment(self, call: Call) -> dict[str, Any]:
        repo = f"{call.params['owner']}/{call.params['repo']}"
        cid = int(call.params["comment_id"])
        for comments in self.comments.get(repo, {}).values():
            for comment in comments:
                if comment["id"] == cid:
                    return comment
        raise LookupError

    @route("GET", "/repos/{owner}/{repo}/issues/comments/{comment_id}")
    def get_comment(self, call: Call) -> Any:
        return 200, self._find_comment(call)

    @route("PATCH", "/repos/{owner}/{repo}/issues/comments/{comment_id}")
    def edit_comment(self, call: Call) -> Any:
        comment = self._find_comment(call)
        if comment["user"]["login"] != self.bot_login:
            return 403, {"message": "Must have admin rights to Repository."}
        comment["body"] = call.body["body"]
        comment["updated_at"] = datetime.now(UTC).isoformat()
        return 200, comment

    @route("POST", "/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions")
    def create_reaction(self, call: Call) -> Any:
        comment = self._find_comment(call)
        mine = self.reactions.setdefault(comment["id"], [])
        for reaction in mine:
            if reaction["content"] == call.body["content"]:
                return 200, reaction
        reaction = {
            "id": self.new_id(),
            "content": call.body["content"],
            "user": self._user(self.bot_login),
            "created_at": datetime.now(UTC).isoformat(),
        }
        mine.append(reaction)
        return 201, reaction

    @route("POST", "/repos/{owner}/{repo}/issues/{issue_number}/labels")
    def add_labels(self, call: Call) -> Any:
        pull = self._pull(call)
        names = call.body["labels"] if isinstance(call.body, dict) else call.body
        for name in names:
            if name not in pull.labels:
                pull.labels.append(name)
        return 200, [{"name": n, "id": abs(hash(n)) % 10**6} for n in pull.labels]

    @route("POST", "/repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers")
    def request_reviewers(self, call: Call) -> Any:
        pull = self._pull(call)
        pull.reviewers.extend(u for u in call.body.get("reviewers", []) if u not in pull.reviewers)
        pull.teams.extend(t for t in call.body.get("team_reviewers", []) if t not in pull.teams)
        return 201, self._pull_json(pull)

    @route("GET", "/repos/{owner}/{repo}/commits/{ref}/check-runs")
    def list_check_runs(self, call: Call) -> Any:
        repo = f"{call.params['owner']}/{call.params['repo']}"
        name = call.query.get("check_name", [None])[0]
        runs = [
            r
            for r in self.check_runs.get(repo, [])
            if r["head_sha"] == call.params["ref"] and (name is None or r["name"] == name)
        ]
        runs.sort(key=lambda r: -r["id"])
        return 200, {"total_count": len(runs), "check_runs": [self._check_json(repo, r) for r in runs]}

    @route("POST", "/repos/{owner}/{repo}/check-runs")
    def create_check_run(self, call: Call) -> Any:
        repo = f"{call.params['owner']}/{call.params['repo']}"
        body = dict(call.body)
        output = dict(body.pop("output", None) or {"title": None, "summary": None})
        run = {
            "id": self.new_id(),
            "name": body["name"],
            "head_sha": body["head_sha"],
            "status": body.get("status", "queued"),
            "conclusion": body.get("conclusion"),
            "external_id": body.get("external_id"),
            "_annotations": list(output.pop("annotations", [])),
        }
        run["output"] = {"title": output.get("title"), "summary": output.get("summary"), "text": output.get("text")}
        if run["conclusion"]:
            run["status"] = "completed"
        self.check_runs.setdefault(repo, []).append(run)
        return 201, self._check_json(repo, run)

    @route("PATCH", "/repos/{owner}/{repo}/check-runs/{check_run_id}")
    def update_check_run(self, call: Call) -> Any:
        repo = f"{call.params['owner']}/{call.params['repo']}"
        run = next(r for r in self.check_runs.get(repo, []) if r["id"] == int(call.params["check_run_id"]))
        body = dict(call.body)
        output = dict(body.pop("output", None) or {})
        run["_annotations"].extend(output.pop("annotations", []))  # GitHub appends annotations on update
        run["output"].update(output)
        for key in ("status", "conclusion", "name", "external_id"):
            if key in body:
                run[key] = body[key]
        if run.get("conclusion"):
            run["status"] = "completed"
        return 200, self._check_json(repo, run)

    @route("GET", "/repos/{owner}/{repo}/collaborators/{username}/permission")
    def permission(self, call: Call) -> Any:
        repo = f"{call.params['owner']}/{call.params['repo']}"
        user = call.params["username"]
        level = self.permissions.get(repo, {}).get(user)
        if level is None:
            return 404, {"message": f"{user} is not a user"}
        legacy = {"maintain": "write", "triage": "read"}.get(level, level)
        return 200, {"permission": legacy, "role_name": level, "user": self._user(user)}

    @route("GET", "/repos/{owner}/{repo}/actions/runs")
    def list_runs(self, call: Call) -> Any:
        repo = f"{call.params['owner']}/{call.params['repo']}"
        runs = self.workflow_runs.get(repo, [])
        created = call.query.get("created", [""])[0]
        if created.startswith(">="):
            runs = [r for r in runs if r["created_at"] >= created[2:]]
        chunk, headers = self._page(call, runs)
        return 200, {"total_count": len(runs), "workflow_runs": chunk}, headers

    @route("GET", "/repos/{owner}/{repo}/actions/runs/{run_id}/timing")
    def run_timing(self, call: Call) -> Any:
        return 200, self.timings[int(call.params["run_id"])]

    @route("GET", "/repos/{owner}/{repo}/commits/{commit_sha}/pulls")
    def commit_pulls_list(self, call: Call) -> Any:
        repo = f"{call.params['owner']}/{call.params['repo']}"
        numbers = self.commit_pulls.get(repo, {}).get(call.params["commit_sha"], [])
        listed = [{k: v for k, v in self._pull_json(self.pulls[repo][n]).items() if k != "merged_by"} for n in numbers]
        chunk, headers = self._page(call, listed)
        return 200, chunk, headers

    @route("POST", "/repos/{owner}/{repo}/actions/runs/{run_id}/deployment_protection_rule")
    def review_deployment(self, call: Call) -> Any:
        self.deployment_reviews.append({"run_id": int(call.params["run_id"]), **(call.body or {})})
        return 204, None

    @route("GET", "/repos/{owner}/{repo}/pulls")
    def list_pulls(self, call: Call) -> Any:
        repo = f"{call.params['owner']}/{call.params['repo']}"
        state = call.query.get("state", ["open"])[0]
        base = call.query.get("base", [None])[0]
        pulls = [
            p for p in self.pulls.get(repo, {}).values() if state in ("all", p.state) and base in (None, p.base_ref)
        ]
        if call.query.get("sort", ["created"])[0] == "updated":
            pulls.sort(
                key=lambda p: p.updated_at or p.merged_at or "",
                reverse=call.query.get("direction", ["desc"])[0] == "desc",
            )
        else:
            pulls.sort(key=lambda p: p.number, reverse=call.query.get("direction", ["desc"])[0] == "desc")
        # GitHub's list answer (pull-request-simple) does not say who merged: only GET /pulls/{number} does.
        listed = [{k: v for k, v in self._pull_json(p).items() if k != "merged_by"} for p in pulls]
        chunk, headers = self._page(call, listed)
        return 200, chunk, headers

    def _issue_json(self, repo: str, issue: dict[str, Any]) -> dict[str, Any]:
        return {
            **{k: v for k, v in issue.items() if not k.startswith("_")},
            "user": self._user(issue["_author"]),
            "labels": [{"name": n, "id": abs(hash(n)) % 10**6} for n in issue["_labels"]],
            "url": f"{self.base_url}/repos/{repo}/issues/{issue['number']}",
            "html_url": f"https://github.invalid/{repo}/issues/{issue['number']}",
        }

    @route("GET", "/repos/{owner}/{repo}/issues")
    def list_issues(self, call: Call) -> Any:
        repo = f"{call.params['owner']}/{call.params['repo']}"
        state = call.query.get("state", ["open"])[0]
        labels = [x for x in call.query.get("labels", [""])[0].split(",") if x]
        creator = call.query.get("creator", [None])[0]
        found = [
            i
            for i in self.issues.get(repo, [])
            if state in ("all", i["state"])
            and all(x in i["_labels"] for x in labels)
            and creator in (None, i["_author"])
        ]
        chunk, headers = self._page(
            call, [self._issue_json(repo, i) for i in sorted(found, key=lambda i: -i["number"])]
        )
        return 200, chunk, headers

    @route("GET", "/repos/{owner}/{repo}/issues/comments")
    def list_repo_comments(self, call: Call) -> Any:
        repo = f"{call.params['owner']}/{call.params['repo']}"
        since = call.query.get("since", [""])[0]
        found = [
            {**c, "issue_url": f"{self.base_url}/repos/{repo}/issues/{number}"}
            for number, comments in self.comments.get(repo, {}).items()
            for c in comments
            if c["updated_at"] >= since
        ]
        chunk, headers = self._page(call, sorted(found, key=lambda c: c["id"]))
        return 200, chunk, headers

    @route("POST", "/repos/{owner}/{repo}/issues")
    def create_issue(self, call: Call) -> Any:
        repo = f"{call.params['owner']}/{call.params['repo']}"
        author = self.bot_login
        numbers = list(self.pulls.get(repo, {})) + [i["number"] for i in self.issues.get(repo, [])]
        issue = {
            "id": self.new_id(),
            "number": max(numbers, default=0) + 1,
            "title": call.body["title"],
            "body": call.body.get("body", ""),
            "state": "open",
            "_author": author,
            "_labels": list(call.body.get("labels", [])),
        }
        self.issues.setdefault(repo, []).append(issue)
        return 201, self._issue_json(repo, issue)

    @route("PATCH", "/repos/{owner}/{repo}/issues/{issue_number}")
    def edit_issue(self, call: Call) -> Any:
        repo = f"{call.params['owner']}/{call.params['repo']}"
        number = int(call.params["issue_number"])
        issue = (
            next(i for i in self.issues.get(repo, []) if i["number"] == number)
            if any(i["number"] == number for i in self.issues.get(repo, []))
            else None
        )
        if issue is None:
            raise LookupError
        for key in ("title", "body", "state", "state_reason"):
            if key in call.body:
                issue[key] = call.body[key]
        return 200, self._issue_json(repo, issue)

    @route("GET", "/app/installations")
    def list_installations(self, call: Call) -> Any:
        found = [
            {
                "id": number,
                "account": self._user(repos[0].split("/")[0] if repos else "octo", "Organization"),
                "app_id": 12345,
                "target_type": "Organization",
                "repository_selection": "selected",
                "suspended_at": "2025-01-01T00:00:00Z" if number in self.suspended else None,
            }
            for number, repos in sorted(self.installations.items())
        ]
        chunk, headers = self._page(call, found)
        return 200, chunk, headers

    @route("POST", "/app/installations/{installation_id}/access_tokens")
    def create_installation_token(self, call: Call) -> Any:
        number = int(call.params["installation_id"])
        if number not in self.installations:
            raise LookupError
        token = f"ghs_{number}_{self.new_id()}"
        self.installation_tokens[token] = number
        return 201, {"token": token, "expires_at": "2099-01-01T00:00:00Z"}

    @route("GET", "/installation/repositories")
    def list_installation_repos(self, call: Call) -> Any:
        auth = {k.lower(): v for k, v in call.headers.items()}.get("authorization", "")
        number = self.installation_tokens.get(auth.split(" ", 1)[-1])
        if number is None:
            return 403, {"message": "only an installation token lists its repositories"}
        repos = [
            {
                **self._repo_json(full),
                "private": True,
                "clone_url": self.clone_urls.get(full, f"https://github.invalid/{full}.git"),
                "default_branch": self.default_branches.get(full, "main"),
            }
            for full in self.installations[number]
        ]
        chunk, headers = self._page(call, repos)
        return 200, {"total_count": len(repos), "repositories": chunk}, headers

    # --- dispatch ----------------------------------------------------------------------------------

    def _route(self, call: Call) -> Handler | None:
        for method, template, pattern, handler in self._routes:
            match = pattern.match(call.path)
            if method == call.method and match:
                call.template, call.params = template, match.groupdict()
                return handler  # type: ignore[no-any-return]
        return None

    def _take_fault(self, call: Call) -> Fault | None:
        fault = next((f for f in self.faults if f.method == call.method and f.template == call.template), None)
        if fault is not None:
            fault.times -= 1
            if fault.times <= 0:
                self.faults.remove(fault)
        return fault

    def _answer(self, call: Call, handler: Handler) -> tuple[int, Any, dict[str, str]]:
        fault = self._take_fault(call)
        status, payload, extra = 0, None, {}
        try:
            if fault is None or fault.apply:
                answer: Any = handler(call)
                status, payload = answer[0], answer[1]
                extra = answer[2] if len(answer) > 2 else {}
        except LookupError:
            status, payload = 404, {"message": "Not Found"}
        except Exception as exc:  # a bug in the double or a request it cannot read
            self.violations.append(f"{call.method} {call.path}: the double failed: {exc!r}")
            status, payload = 500, {"message": repr(exc)}
        if fault is not None:
            call.faulted = True
            return fault.status, fault.body, fault.headers
        return status, payload, extra

    def _authorised(self, call: Call, auth: str) -> bool:
        scheme, _, credential = auth.partition(" ")
        if (call.template or "").startswith("/app/") or call.template == "/app":
            return scheme == "Bearer" and self.jwt_verifier is not None and self.jwt_verifier(credential)
        return scheme in ("token", "Bearer") and (credential == self.token or credential in self.installation_tokens)

    def handle(
        self, method: str, target: str, headers: dict[str, str], raw: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        """Answer one request: route, authenticate, inject faults, validate, log."""
        parts = urlsplit(target)
        body = json.loads(raw) if raw else None
        call = Call(method, parts.path, None, {}, parse_qs(parts.query), body, headers)
        auth = {k.lower(): v for k, v in headers.items()}.get("authorization", "")
        extra: dict[str, str] = {}
        with self.lock:
            self.requests.append(call)
            handler = self._route(call)
            if handler is None:
                self.violations.append(f"{method} {parts.path}: not served by the double")
                status, payload = 404, {"message": "Not Found"}
            elif not self._authorised(call, auth):
                status, payload = 401, {"message": "Bad credentials"}
            else:
                status, payload, extra = self._answer(call, handler)
            call.status, call.response = status, payload
            if self.checker is not None and call.template is not None and status != 401:
                self.violations.extend(self.checker.check(call))
                if self.required_only and 200 <= status < 300 and not call.faulted:
                    payload = call.response = self.checker.required_only(call)
        data = json.dumps(payload).encode()
        return status, {"Content-Type": "application/json; charset=utf-8", **extra}, data

    def serve(self) -> Server:
        """Start serving on 127.0.0.1 (an ephemeral port); stop with ``Server.stop()``."""
        return Server(self)


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    wbufsize = 1 << 16  # one write per response: no Nagle / delayed-ACK stalls on keep-alive connections
    double: GitHubDouble

    def _any(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        status, headers, data = self.double.handle(self.command, self.path, dict(self.headers.items()), raw)
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _any

    def log_message(self, format: str, *args: Any) -> None:
        return


class Server:
    """The double served by a threaded HTTP server on 127.0.0.1; ``url`` is its base URL."""

    def __init__(self, double: GitHubDouble) -> None:
        handler = type("Handler", (_RequestHandler,), {"double": double})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        double.base_url = self.url
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)
