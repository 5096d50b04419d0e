"""The slash-command grammar and the override permission rules (pure parts)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import jsonschema
import pytest

from changebot.core.commands import Command, Invalid, help_text, parse
from changebot.core.overrides import rules
from changebot.model import GateId, Override
from tests.support.repos import REPO_ROOT

NOW = datetime(2025, 12, 20, 9, 0, tzinfo=UTC)
HEAD = "a" * 40


@pytest.mark.parametrize("verb", ["help", "plan", "gate", "budget", "freeze", "sequence"])
def test_simple_verbs(verb: str) -> None:
    assert parse(f"/changebot {verb}") == Command(verb)


def test_command_on_first_non_blank_line_and_text_below_is_ignored() -> None:
    assert parse("\n\n   /changebot plan  \nthanks!") == Command("plan")


def test_override_with_quoted_reason_and_expiry() -> None:
    got = parse('/changebot override freeze --reason "hotfix for the payments outage" --expires 24h')
    assert got == Command("override", GateId.FREEZE, "hotfix for the payments outage", timedelta(hours=24))


def test_override_equals_form_and_default_expiry() -> None:
    got = parse("/changebot override budget --reason='one-off migration run, approved by finance'")
    assert got == Command("override", GateId.BUDGET, "one-off migration run, approved by finance", None)


@pytest.mark.parametrize(
    "body",
    [
        "please /changebot plan",
        "thanks\n/changebot plan",
        "/changebotplan",
        "",
        "   \n  ",
        "/CHANGEBOT plan",
    ],
)
def test_not_addressed_to_changebot(body: str) -> None:
    assert parse(body) is None


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("/changebot", "no command given after /changebot"),
        ("/changebot deploy", "unknown command 'deploy'; expected one of help, plan, gate, budget, freeze, sequence"),
        ("/changebot plan now", "'/changebot plan' takes no arguments (got 'now')"),
        ('/changebot override --reason "x"', "'/changebot override' needs a gate first"),
        ('/changebot override prod --reason "x"', "unknown gate 'prod'; expected one of schema, rules, policy"),
        ("/changebot override freeze", 'an override needs --reason "why this change must go in now"'),
        ('/changebot override freeze --reason "  "', "an override needs --reason"),
        ('/changebot override freeze --reason "unterminated', "the command could not be read (No closing quotation)"),
        ('/changebot override freeze --reason "a" --reason "b"', "--reason is given twice"),
        ('/changebot override freeze --reason "a" --force', "unexpected '--force'"),
        ('/changebot override freeze --reason "a" --expires forever', "--expires 'forever' is not a duration"),
        ('/changebot override freeze --reason "a" --expires 0h', "--expires '0h' is not a duration"),
        ("/changebot override freeze --reason", "--reason needs a value"),
        ("/changebot plan " + "x" * 2000, "the command line is 2016 characters long; the limit is 2000"),
    ],
)
def test_malformed_commands_say_what_is_wrong(body: str, problem: str) -> None:
    got = parse(body)
    assert isinstance(got, Invalid)
    assert got.problem.startswith(problem)


def test_help_text_lists_every_command_and_leads_with_the_problem() -> None:
    text = help_text("no command given after /changebot")
    assert text.startswith("**changebot could not read that command:** no command given after /changebot\n")
    for verb in ("help", "plan", "gate", "budget", "freeze", "sequence", "override freeze"):
        assert f"`/changebot {verb}" in text


def override(reason: str = "payments outage hotfix, INC-4411", expires: str | None = None) -> Command:
    got = parse(f'/changebot override freeze --reason "{reason}"' + (f" --expires {expires}" if expires else ""))
    assert isinstance(got, Command)
    return got


def test_maintainer_is_granted_an_override_for_this_head() -> None:
    policy = rules.policy_for(GateId.FREEZE, {})
    got = rules.decide(override(expires="24h"), "alice", "maintain", policy, NOW, HEAD)
    assert got == Override(
        GateId.FREEZE, "alice", "payments outage hotfix, INC-4411", NOW, NOW + timedelta(hours=24), HEAD
    )


def test_default_expiry_is_the_maximum() -> None:
    got = rules.decide(override(), "alice", "admin", rules.policy_for(GateId.FREEZE, {}), NOW, HEAD)
    assert isinstance(got, Override)
    assert got.expires_at == NOW + timedelta(hours=72)


def test_read_only_user_is_refused_with_who_may_grant() -> None:
    got = rules.decide(override(), "mallory", "read", rules.policy_for(GateId.FREEZE, {}), NOW, HEAD)
    assert got == rules.Refusal(
        "@mallory has the repository role 'read'; overriding the freeze gate needs one of: maintain, admin (defaults)"
    )


def test_non_collaborator_is_refused() -> None:
    got = rules.decide(override(), "stranger", None, rules.policy_for(GateId.FREEZE, {}), NOW, HEAD)
    assert isinstance(got, rules.Refusal)
    assert "role 'none'" in got.message


def test_short_reason_is_refused_with_the_minimum() -> None:
    got = rules.decide(override("hotfix"), "alice", "admin", rules.policy_for(GateId.FREEZE, {}), NOW, HEAD)
    assert got == rules.Refusal(
        "the reason is 6 visible characters long; overriding the freeze gate needs at least 20 (defaults)"
    )


def test_expiry_beyond_the_maximum_is_refused() -> None:
    policy = rules.policy_for(GateId.FREEZE, {"freeze": {"expires_max": "24h"}})
    got = rules.decide(override(expires="2d"), "alice", "admin", policy, NOW, HEAD)
    assert got == rules.Refusal(
        "--expires 2d is longer than the 1d allowed for the freeze gate (.maestro/changebot.yaml overrides.freeze)"
    )


def test_settings_win_over_the_calendar_block_which_wins_over_defaults() -> None:
    calendar = {"allowed": True, "require_reason": True, "reason_min_len": 40}
    from_calendar = rules.policy_for(GateId.FREEZE, {}, calendar)
    assert from_calendar.reason_min_len == 40
    assert from_calendar.who == ("maintain", "admin")
    both = rules.policy_for(GateId.FREEZE, {"freeze": {"who": ["admin"], "reason_min_len": 10}}, calendar)
    assert (both.who, both.reason_min_len) == (("admin",), 10)
    assert both.source == "release-policy.yml override: and .maestro/changebot.yaml overrides.freeze"


def test_calendar_that_disallows_overrides_refuses_even_admins() -> None:
    policy = rules.policy_for(GateId.FREEZE, {}, {"allowed": False})
    got = rules.decide(override(), "root", "admin", policy, NOW, HEAD)
    assert got == rules.Refusal("overrides of the freeze gate are not allowed here (release-policy.yml override:)")


def test_malformed_settings_fall_back_to_the_strict_defaults() -> None:
    policy = rules.policy_for(
        GateId.FREEZE, {"freeze": {"who": "everyone", "reason_min_len": -1, "expires_max": "1y", "lapse_on_push": 0}}
    )
    assert (policy.who, policy.reason_min_len, policy.expires_max, policy.lapse_on_push) == (
        ("maintain", "admin"),
        20,
        timedelta(hours=72),
        True,
    )


def granted(head: str = HEAD, hours: int = 24) -> Override:
    return Override(GateId.FREEZE, "alice", "x" * 30, NOW, NOW + timedelta(hours=hours), head)


def test_expired_override_is_not_in_force() -> None:
    policies = {GateId.FREEZE: rules.OverridePolicy(GateId.FREEZE)}
    assert rules.effective([granted()], policies, NOW + timedelta(hours=23), HEAD) == [granted()]
    assert rules.effective([granted()], policies, NOW + timedelta(hours=24), HEAD) == []


def test_override_lapses_on_a_new_push_unless_settings_say_otherwise() -> None:
    lapsing = {GateId.FREEZE: rules.policy_for(GateId.FREEZE, {})}
    sticky = {GateId.FREEZE: rules.policy_for(GateId.FREEZE, {"freeze": {"lapse_on_push": False}})}
    assert rules.effective([granted()], lapsing, NOW, "b" * 40) == []
    assert rules.effective([granted()], lapsing, NOW, None) == []
    assert rules.effective([granted()], sticky, NOW, "b" * 40) == [granted(head="b" * 40)]
    assert rules.effective([granted()], sticky, NOW, HEAD) == [granted()]


def test_record_replaces_the_gate_and_drops_expired() -> None:
    old = granted(hours=1)
    budget = Override(GateId.BUDGET, "bob", "y" * 30, NOW, NOW + timedelta(hours=1), HEAD)
    new = granted(hours=48)
    assert rules.record([old, budget], new, NOW + timedelta(minutes=30)) == [budget, new]
    assert rules.record([old, budget], new, NOW + timedelta(hours=2)) == [new]


def test_a_gate_can_be_closed_to_overrides_in_settings() -> None:
    command = parse('/changebot override freeze --reason "the parser is wrong about this file"')
    assert isinstance(command, Command)
    closed = rules.policy_for(GateId.FREEZE, {"freeze": {"allowed": False}})
    got = rules.decide(command, "root", "admin", closed, NOW, HEAD)
    assert got == rules.Refusal(
        "overrides of the freeze gate are not allowed here (.maestro/changebot.yaml overrides.freeze)"
    )
    assert isinstance(rules.decide(command, "root", "admin", rules.policy_for(GateId.FREEZE, {}), NOW, HEAD), Override)


def test_the_overrides_settings_section_is_in_the_published_schema() -> None:
    schema = json.loads((REPO_ROOT / "schemas" / "changebot.schema.json").read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    good = {
        "overrides": {"freeze": {"who": ["admin"], "reason_min_len": 30, "expires_max": "24h", "lapse_on_push": False}}
    }
    assert list(validator.iter_errors(good)) == []
    bad = {"overrides": {"prod": {}, "freeze": {"who": "admin", "expires_max": "forever", "unknown": 1}}}
    messages = sorted(e.message for e in validator.iter_errors(bad))
    assert len(messages) == 4, messages
    section = schema["properties"]["overrides"]["additionalProperties"]["properties"]
    assert {k: v["default"] for k, v in section.items()} == {
        "allowed": True,
        "who": ["maintain", "admin"],
        "reason_min_len": 20,
        "expires_max": "72h",
        "lapse_on_push": True,
    }


# --- issue 16, item 9: what binds an override ----------------------------------------------------------------


@pytest.mark.parametrize(
    "padding",
    ["\u200b", "\u200d", "\u2060", "\u200f", "\u3164", "\u0301", "\ufe0f", "\u115f\u1160", "\u2800", "\u00ad"],
    ids=["zwsp", "zwj", "word-joiner", "rlm", "hangul-filler", "combining-acute", "vs16", "fillers", "braille", "shy"],
)
def test_invisible_characters_do_not_count_towards_the_reason(padding: str) -> None:
    command = parse(f'/changebot override freeze --reason "ok{padding * 20}"')
    assert isinstance(command, Command)
    got = rules.decide(command, "alice", "admin", rules.policy_for(GateId.FREEZE, {}), NOW, HEAD)
    assert got == rules.Refusal(
        "the reason is 2 visible characters long; overriding the freeze gate needs at least 20 (defaults)"
    )


def test_visible_length_counts_letters_in_any_script_and_single_spaces() -> None:
    assert rules.visible_length("payments outage hotfix") == 22
    assert rules.visible_length("déploiement urgent") == 18
    assert rules.visible_length("de\u0301ploiement") == 11
    assert rules.visible_length("紧急修复支付故障") == 8


@pytest.mark.parametrize("gate", [g for g in GateId if g is not GateId.FREEZE])
def test_an_override_of_a_gate_that_takes_none_is_refused_with_the_reason(gate: GateId) -> None:
    command = parse(f'/changebot override {gate} --reason "vendor file, its syntax is checked upstream"')
    assert isinstance(command, Command)
    got = rules.decide(command, "root", "admin", rules.policy_for(gate, {}), NOW, HEAD)
    assert got == rules.Refusal(
        f"the {gate} gate cannot be overridden: an override would not change its result (only the freeze gate "
        "takes overrides). Fix the change, or have an owner change the base branch's configuration"
    )


def test_stored_overrides_of_gates_that_take_none_are_never_in_force() -> None:
    stored = [
        Override(GateId.BUDGET, "root", "month-end batch, approved in FIN-7", NOW, None, HEAD),
        Override(GateId.FREEZE, "root", "payments outage hotfix, INC-4411", NOW, None, HEAD),
    ]
    policies = {g: rules.policy_for(g, {}) for g in GateId}
    assert [o.gate for o in rules.effective(stored, policies, NOW, HEAD)] == [GateId.FREEZE]


def test_the_expiry_counts_from_when_the_command_was_written() -> None:
    policy = rules.policy_for(GateId.FREEZE, {})
    written = NOW - timedelta(hours=2)
    got = rules.decide(override(expires="24h"), "alice", "admin", policy, NOW, HEAD, 77, written)
    assert got == Override(
        GateId.FREEZE, "alice", "payments outage hotfix, INC-4411", written, written + timedelta(hours=24), HEAD, 77
    )
    late = rules.decide(override(expires="1h"), "alice", "admin", policy, NOW, HEAD, 77, written)
    assert late == rules.Refusal(
        f"the command was written at {written.isoformat()} and its 1h would already have run out; write it again"
    )


def test_an_override_may_name_its_head() -> None:
    got = parse('/changebot override freeze --reason "payments outage hotfix, INC-4411" --sha ABCDEF1')
    assert isinstance(got, Command) and got.sha == "abcdef1"
    assert parse('/changebot override freeze --reason "payments outage hotfix" --sha main') == Invalid(
        "--sha 'main' is not a commit SHA; write 7 to 40 hex digits"
    )
