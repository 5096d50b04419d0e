"""The GitHub adapter against the REST double: snapshots, retries, rate limits, creates that half-failed."""

from __future__ import annotations

import socket

import pytest
from github import GithubException

from changebot.adapters.github.calls import CallPolicy, GitHubError, RateLimitedError
from changebot.adapters.github.client import GitHubClient
from changebot.errors import ChangebotError
from tests.support.github_double import GitHubDouble

REPO = "octo/app"
HEAD = "a" * 40
BASE = "b" * 40
COMMENTS = "/repos/{owner}/{repo}/issues/{issue_number}/comments"
PULL = "/repos/{owner}/{repo}/pulls/{pull_number}"


class Clock:
    """A fake clock for ``CallPolicy``: ``sleep`` records and advances instead of sleeping."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    def time(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def client(double: GitHubDouble, clock: Clock, **policy: float) -> GitHubClient:
    return GitHubClient(
        "test-token",
        double.base_url,
        bot_login=double.bot_login,
        policy=CallPolicy(sleep=clock.sleep, clock=clock.time, **policy),  # type: ignore[arg-type]
    )


def test_snapshot_reads_every_page_of_files_and_the_pr_facts(github: GitHubDouble, clock: Clock) -> None:
    github.add_pull(
        REPO, 7, HEAD, BASE, files=[f"src/f{i:03}.py" for i in range(250)], labels=["risk:high"], draft=True
    )
    snap = client(github, clock).pull_request(REPO, 7)
    assert snap.pr.number == 7
    assert (snap.pr.base_sha, snap.pr.head_sha, snap.pr.base_branch) == (BASE, HEAD, "main")
    assert snap.pr.author == "octocat"
    assert snap.pr.labels == ("risk:high",)
    assert snap.pr.draft is True
    assert [f.path for f in snap.pr.files] == [f"src/f{i:03}.py" for i in range(250)]
    assert not snap.fork
    assert len(github.calls("GET", PULL + "/files")) == 3  # 100 per page


def test_a_fork_pr_is_recognised_by_its_head_repository(github: GitHubDouble, clock: Clock) -> None:
    github.add_pull(REPO, 8, HEAD, BASE, files=["a.txt"], head_repo="mallory/app")
    snap = client(github, clock).pull_request(REPO, 8)
    assert snap.fork
    assert snap.head_repo == "mallory/app"


def test_a_missing_pr_is_a_github_error_with_a_hint(github: GitHubDouble, clock: Clock) -> None:
    with pytest.raises(GitHubError) as caught:
        client(github, clock).pull_request(REPO, 99)
    assert caught.value.status == 404
    assert "GET pull request octo/app#99: GitHub answered 404" in str(caught.value)
    assert "does not exist" in caught.value.diagnostics()


def test_bad_credentials_are_reported_without_the_token(github: GitHubDouble, clock: Clock) -> None:
    github.add_pull(REPO, 7, HEAD, BASE)
    bad = GitHubClient("wrong-secret", github.base_url, bot_login="x", policy=CallPolicy(sleep=clock.sleep))
    with pytest.raises(GitHubError) as caught:
        bad.pull_request(REPO, 7)
    assert caught.value.status == 401
    assert "wrong-secret" not in caught.value.diagnostics()
    assert "token" in caught.value.diagnostics()


def test_a_502_on_comment_creation_that_created_it_leaves_one_comment(github: GitHubDouble, clock: Clock) -> None:
    github.add_pull(REPO, 7, HEAD, BASE)
    github.fail_next("POST", COMMENTS, 502, message="Bad Gateway", apply=True)
    posted = client(github, clock).create_comment(REPO, 7, "hello <!-- m -->", exists=lambda c: "<!-- m -->" in c.body)
    assert [c["body"] for c in github.comments[REPO][7]] == ["hello <!-- m -->"]
    assert posted.id == github.comments[REPO][7][0]["id"]
    assert len(github.calls("POST", COMMENTS)) == 1  # looked, found it, did not post again


def test_a_502_that_did_not_create_the_comment_posts_it_once_more(github: GitHubDouble, clock: Clock) -> None:
    github.add_pull(REPO, 7, HEAD, BASE)
    github.fail_next("POST", COMMENTS, 502, apply=False)
    client(github, clock).create_comment(REPO, 7, "hello <!-- m -->", exists=lambda c: "<!-- m -->" in c.body)
    assert [c["body"] for c in github.comments[REPO][7]] == ["hello <!-- m -->"]
    assert len(github.calls("POST", COMMENTS)) == 2


def test_a_post_without_a_way_to_look_for_its_object_is_never_retried(github: GitHubDouble, clock: Clock) -> None:
    policy = CallPolicy(sleep=clock.sleep)
    calls: list[int] = []

    def create() -> int:
        calls.append(1)
        raise GithubException(502, {"message": "Bad Gateway"}, {})

    with pytest.raises(GitHubError, match="answered 502"):
        policy.run("POST thing", create, idempotent=False)
    assert calls == [1]


def test_a_secondary_rate_limit_waits_as_long_as_retry_after_says(github: GitHubDouble, clock: Clock) -> None:
    github.add_pull(REPO, 7, HEAD, BASE)
    github.fail_next(
        "POST",
        COMMENTS,
        403,
        headers={"Retry-After": "7"},
        message="You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
    )
    client(github, clock).create_comment(REPO, 7, "hi", exists=lambda c: False)
    assert clock.slept == [7.0]
    assert len(github.comments[REPO][7]) == 1


def test_a_429_with_retry_after_is_honoured_on_reads(github: GitHubDouble, clock: Clock) -> None:
    github.add_pull(REPO, 7, HEAD, BASE)
    github.fail_next("GET", COMMENTS, 429, headers={"Retry-After": "3"}, message="Too many requests")
    assert client(github, clock).comments(REPO, 7) == ()
    assert clock.slept == [3.0]


def test_an_exhausted_primary_limit_waits_until_the_reset_time(github: GitHubDouble, clock: Clock) -> None:
    github.add_pull(REPO, 7, HEAD, BASE)
    reset = int(clock.now) + 20
    github.fail_next(
        "GET",
        PULL,
        403,
        headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(reset)},
        message="API rate limit exceeded",
    )
    client(github, clock).pull_request(REPO, 7)
    assert clock.slept == [21.0]  # until the reset, plus a second of margin


def test_a_wait_longer_than_allowed_fails_with_advice_instead_of_hanging(github: GitHubDouble, clock: Clock) -> None:
    github.add_pull(REPO, 7, HEAD, BASE)
    github.fail_next("POST", COMMENTS, 403, headers={"Retry-After": "3600"}, message="secondary rate limit")
    with pytest.raises(RateLimitedError) as caught:
        client(github, clock, max_wait=60).create_comment(REPO, 7, "hi", exists=lambda c: False)
    assert "asks to wait 3600 s" in str(caught.value)
    assert "run again later" in caught.value.diagnostics()
    assert clock.slept == []
    assert github.comments[REPO][7] == []


def test_a_5xx_on_a_read_is_retried_with_bounded_backoff(github: GitHubDouble, clock: Clock) -> None:
    github.add_pull(REPO, 7, HEAD, BASE)
    github.fail_next("GET", COMMENTS, 503, times=2)
    assert client(github, clock).comments(REPO, 7) == ()
    assert clock.slept == [1.0, 2.0]


def test_a_read_that_keeps_failing_gives_up(github: GitHubDouble, clock: Clock) -> None:
    github.add_pull(REPO, 7, HEAD, BASE)
    github.fail_next("GET", COMMENTS, 500, times=10)
    with pytest.raises(GitHubError, match="answered 500"):
        client(github, clock, attempts=3).comments(REPO, 7)
    assert len(github.calls("GET", COMMENTS)) == 3


def test_a_dead_server_is_a_github_error_not_a_traceback(clock: Clock) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    dead = GitHubClient(
        "t", f"http://127.0.0.1:{port}", bot_login="x", policy=CallPolicy(sleep=clock.sleep, attempts=2)
    )
    with pytest.raises(GitHubError, match="no answer from GitHub"):
        dead.comments(REPO, 7)


def test_permission_comes_from_the_collaborator_permission_api(github: GitHubDouble, clock: Clock) -> None:
    github.add_pull(REPO, 7, HEAD, BASE)
    github.permissions[REPO] = {"alice": "maintain", "bob": "read"}
    gh = client(github, clock)
    assert gh.permission(REPO, "alice") == "maintain"
    assert gh.permission(REPO, "bob") == "read"
    assert gh.permission(REPO, "stranger") == "none"


def test_reactions_labels_and_reviews(github: GitHubDouble, clock: Clock) -> None:
    pull = github.add_pull(REPO, 7, HEAD, BASE, labels=["a"])
    comment = github.add_comment(REPO, 7, "/changebot help", "alice")
    gh = client(github, clock)
    gh.add_reaction(REPO, comment["id"], "eyes")
    gh.add_reaction(REPO, comment["id"], "eyes")
    gh.add_labels(REPO, 7, ["a", "b"])
    gh.request_reviews(REPO, 7, ["carol"], ["release"])
    assert [r["content"] for r in github.reactions[comment["id"]]] == ["eyes"]
    assert pull.labels == ["a", "b"]
    assert (pull.reviewers, pull.teams) == (["carol"], ["release"])


def test_an_unknown_bot_login_is_refused_never_taken_from_the_token(github: GitHubDouble, clock: Clock) -> None:
    gh = GitHubClient("test-token", github.base_url, policy=CallPolicy(sleep=clock.sleep))
    with pytest.raises(ChangebotError, match="own login is not known") as caught:
        _ = gh.bot_login
    assert "CHANGEBOT_BOT_LOGIN" in caught.value.diagnostics()
    assert github.calls("GET", "/user") == []  # whoever holds the token is not changebot


def test_a_secondary_rate_limit_without_retry_after_waits_a_minute(github: GitHubDouble, clock: Clock) -> None:
    github.add_pull(REPO, 7, HEAD, BASE)
    github.fail_next("GET", COMMENTS, 403, message="You have exceeded a secondary rate limit.")
    assert client(github, clock).comments(REPO, 7) == ()
    assert clock.slept == [60.0]


def test_a_403_that_is_not_a_rate_limit_is_not_waited_for(github: GitHubDouble, clock: Clock) -> None:
    github.add_pull(REPO, 7, HEAD, BASE)
    github.fail_next("POST", COMMENTS, 403, message="Resource not accessible by integration")
    with pytest.raises(GitHubError) as caught:
        client(github, clock).create_comment(REPO, 7, "hi", exists=lambda c: False)
    assert clock.slept == []
    assert "pull-requests: write" in caught.value.diagnostics()
