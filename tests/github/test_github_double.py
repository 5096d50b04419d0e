"""The double's own checks: what it flags must be what GitHub's OpenAPI description forbids."""

from __future__ import annotations

import json
from typing import Any

import requests

from tests.support.github_double import ROUTES, Call, GitHubDouble, SpecChecker

CHECKS = "/repos/{owner}/{repo}/check-runs"
COMMENTS = "/repos/{owner}/{repo}/issues/{issue_number}/comments"


def call(method: str, template: str, body: Any = None, query: dict[str, list[str]] | None = None, **kw: Any) -> Call:
    params = {"owner": "o", "repo": "r", "issue_number": "1"}
    return Call(method, "/x", template, params, query or {}, body, {}, **kw)


def test_every_route_the_double_serves_is_a_github_operation(github_checker: SpecChecker) -> None:
    assert [(m, t) for m, t in ROUTES if github_checker.operation(m, t) is None] == []


def test_a_request_body_missing_a_required_field_is_flagged(github_checker: SpecChecker) -> None:
    problems = github_checker.check(call("POST", CHECKS, {"name": "changebot"}, status=201))
    assert problems == [f"POST {CHECKS}: body: 'head_sha' is a required property"]


def test_a_wrong_type_in_a_request_body_is_flagged(github_checker: SpecChecker) -> None:
    problems = github_checker.check(call("POST", COMMENTS, {"body": 42}, status=201))
    assert problems == [f"POST {COMMENTS}: body['body']: 42 is not of type 'string'"]


def test_an_unknown_query_parameter_is_flagged(github_checker: SpecChecker) -> None:
    problems = github_checker.check(call("GET", COMMENTS, query={"per_page": ["100"], "sort": ["x"]}, status=200))
    assert problems == [f"GET {COMMENTS}: query parameter 'sort' is not in the spec"]


def test_an_answer_of_the_wrong_shape_is_flagged(github_checker: SpecChecker) -> None:
    problems = github_checker.check(call("GET", COMMENTS, status=200, response=[{"id": "seven", "body": "x"}]))
    assert problems == [f"GET {COMMENTS}: answer[0]['id']: 'seven' is not of type 'integer'"]


def test_an_unlisted_status_is_flagged(github_checker: SpecChecker) -> None:
    problems = github_checker.check(call("POST", COMMENTS, {"body": "x"}, status=418))
    assert problems == [f"POST {COMMENTS}: answered 418, which the spec does not list"]


def test_a_path_the_double_does_not_serve_is_a_404_and_a_violation(github_checker: SpecChecker) -> None:
    double = GitHubDouble(checker=github_checker)
    server = double.serve()
    try:
        answer = requests.get(
            f"{server.url}/repos/o/r/branches", headers={"Authorization": "token test-token"}, timeout=5
        )
    finally:
        server.stop()
    assert answer.status_code == 404
    assert double.violations == ["GET /repos/o/r/branches: not served by the double"]


def test_required_only_mode_answers_the_fields_github_requires_and_nothing_else(github_checker: SpecChecker) -> None:
    """A pull request's ``requested_reviewers`` is not required by GitHub's description: that mode drops it."""
    full = GitHubDouble(token="t", checker=github_checker)
    lean = GitHubDouble(token="t", checker=github_checker, required_only=True)
    answers = []
    for double in (full, lean):
        double.add_pull("octo/app", 7, head_sha="a" * 40, base_sha="b" * 40, files=["a.txt"])
        status, _, body = double.handle("GET", "/repos/octo/app/pulls/7", {"Authorization": "token t"}, b"")
        assert status == 200 and double.violations == []
        answers.append(json.loads(body))
    assert "requested_reviewers" in answers[0] and "requested_reviewers" not in answers[1]
    assert {"number", "head", "base", "user", "state"} <= set(answers[1])
    assert set(answers[1]["head"]) <= {"label", "ref", "repo", "sha", "user"}
