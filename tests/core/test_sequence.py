"""Sequencing real series against real repositories: statuses, dependencies, conflicts, the gate, the CLI."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from changebot.cli import main
from tests.support import seriesfactory as sf
from tests.support.repos import CORPUS, GitRepo
from tests.support.required import require

SERIES = ".orchestrator/patches/10179"


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(list(args))
    return code, capsys.readouterr().out


def sequence_json(capsys: pytest.CaptureFixture[str], repo: GitRepo, *extra: str) -> tuple[int, dict[str, Any]]:
    code, out = run_cli(capsys, "sequence", "--repo", str(repo.path), "--format", "json", *extra)
    return code, json.loads(out)


def statuses(doc: dict[str, Any], index: int = 0) -> dict[int, str]:
    return {p["number"]: p["status"] for p in doc["series"][index]["patches"]}


def codes(doc: dict[str, Any]) -> list[tuple[str, str]]:
    return [(f["code"], Path(f["path"] or "").name[:4]) for f in doc["findings"]]


def _summit(root: Path) -> tuple[GitRepo, list[Path]]:
    repo = GitRepo(root / "repo")
    repo.commit(sf.BASE_FILES, "initial")
    files = sf.summit_series(repo, root / "out")
    sf.publish(repo, files)
    return repo, files


@pytest.fixture
def summit(tmp_path: Path) -> tuple[GitRepo, list[Path]]:
    """A fresh summit-shaped repository, for tests that change it."""
    return _summit(tmp_path)


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> tuple[GitRepo, list[Path]]:
    """One summit-shaped repository for the tests that only read it."""
    return _summit(tmp_path_factory.mktemp("summit"))


def test_summit_shaped_series_applies_with_its_duplicate_and_revert(
    shared: tuple[GitRepo, list[Path]], capsys: pytest.CaptureFixture[str]
) -> None:
    repo, _ = shared
    code, doc = sequence_json(capsys, repo, "--base", "main", "--head", "head")
    assert code == 0
    assert doc["status"] == "warn" and doc["applies"] is True
    assert statuses(doc) == dict.fromkeys(range(1, 11), "applies") | {11: "empty"}
    series = doc["series"][0]
    assert series["pr"] == "10179" and series["processed"] is False
    by_number = {p["number"]: p for p in series["patches"]}
    assert by_number[5]["depends_on"] == ["0004-ci-tweak-workflow.patch"]
    assert by_number[8]["depends_on"] == ["0007-refactor-rename-util-to-helpers.patch"]
    assert by_number[7]["depends_on"] == ["0006-fix-util-returns-2.patch"]  # a rename depends on its old name
    assert by_number[10]["duplicate_of"] == "0004-ci-tweak-workflow.patch"
    assert by_number[5]["reverts"] == "0004-ci-tweak-workflow.patch"
    assert by_number[9]["of"] == 11 and by_number[9]["subject"] == sf.LONG_SUBJECT
    assert [len(g) for g in series["groups"]] == [1, 1, 1, 3, 3, 1, 1]
    assert series["order"][0].startswith("0001") and len(series["order"]) == 10
    assert ("patch-duplicate", "0010") in codes(doc)
    assert ("patch-reverts", "0005") in codes(doc)
    assert ("patch-empty", "0011") in codes(doc)
    assert not [f for f in doc["findings"] if f["severity"] == "error"]


def test_conflict_names_file_and_hunk_and_blocks_dependants(
    summit: tuple[GitRepo, list[Path]], capsys: pytest.CaptureFixture[str]
) -> None:
    repo, _ = summit
    repo.commit({"src/util.py": "def util():\n    return 99\n"}, "base moved on")
    code, doc = sequence_json(capsys, repo, "--base", "main", "--head", "head")
    assert code == 1 and doc["status"] == "fail" and doc["applies"] is False
    got = statuses(doc)
    assert (got[6], got[7], got[8]) == ("conflicts", "blocked", "blocked")
    assert got[1] == got[9] == "applies"  # independent groups still apply
    conflict = doc["series"][0]["patches"][5]["conflicts"][0]
    assert conflict["file"] == "src/util.py" and conflict["hunk"] == 1 and conflict["line"] == 1
    errors = [f for f in doc["findings"] if f["code"] == "patch-conflicts"]
    assert errors[0]["path"].endswith("0006-fix-util-returns-2.patch")
    assert errors[0]["message"].startswith("does not apply to the base: src/util.py hunk #1 (at line 1)")
    patch_lines = (repo.path / "..").resolve().joinpath("out", Path(errors[0]["path"]).name).read_text().splitlines()
    assert patch_lines[errors[0]["line"] - 1].startswith("@@ -1,2 +1,2 @@")  # the hunk's line in the patch file
    blocked = [f["message"] for f in doc["findings"] if f["code"] == "patch-blocked"]
    assert blocked == [
        "not tried: it depends on 0006-fix-util-returns-2.patch, which does not apply",
        "not tried: it depends on 0007-refactor-rename-util-to-helpers.patch, which does not apply",
    ]
    assert "PR 10179: 1 fail (first 0006-fix-util-returns-2.patch), 2 blocked" in doc["summary"]
    schema = json.loads((Path(__file__).resolve().parents[2] / "schemas" / "sequence.schema.json").read_text())
    jsonschema.validate({k: v for k, v in doc.items() if k != "changebot"}, schema)


def test_three_way_merge_when_context_moved(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    lines = "".join(f"row {i}\n" for i in range(1, 21))
    repo = make_repo({"table.txt": lines})
    repo.branch("feature", "main")
    repo.commit({"table.txt": lines.replace("row 10\n", "row ten\n")}, "rename row ten")
    files = sf.format_patch(repo, "main", "feature", tmp_path / "out")
    repo.checkout("main")
    repo.commit({"table.txt": lines.replace("row 7\n", "row seven\n")}, "context changed")
    sf.publish(repo, files, pr="5")
    code, doc = sequence_json(capsys, repo, "--base", "main", "--head", "head")
    assert code == 0 and statuses(doc) == {1: "applies"}
    assert doc["series"][0]["patches"][0]["three_way"] is True
    assert codes(doc) == [("patch-three-way", "0001")]


def test_patch_already_in_base(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    repo = make_repo(sf.BASE_FILES)
    repo.branch("feature", "main")
    repo.commit({"README.md": "# project\nmore\n"}, "docs: more")
    repo.commit({"src/util.py": "def util():\n    return 5\n"}, "fix: five")
    files = sf.format_patch(repo, "main", "feature", tmp_path / "out")
    repo.checkout("main")
    repo.git("cherry-pick", "feature~1")
    sf.publish(repo, files, pr="7")
    code, doc = sequence_json(capsys, repo, "--base", "main", "--head", "head")
    assert code == 0 and statuses(doc) == {1: "in-base", 2: "applies"}
    assert doc["applies"] is True and doc["status"] == "warn"
    assert ("patch-in-base", "0001") in codes(doc)


def test_numbering_gap_duplicate_and_count_mismatch(
    summit: tuple[GitRepo, list[Path]], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    repo, files = summit
    chosen = [f for f in files if not f.name.startswith(("0003", "0011"))]
    dup = tmp_path / "0002-again.patch"
    dup.write_bytes(files[1].read_bytes())
    repo.branch("gappy", "main")
    repo.commit({f"{SERIES}/{p.name}": p.read_bytes() for p in [*chosen, dup]}, "gappy")
    code, doc = sequence_json(capsys, repo, "--base", "main", "--head", "gappy")
    assert code == 1
    found = codes(doc)
    assert ("patch-number-gap", "0004") in found
    assert ("patch-number-duplicate", "0002") in found
    assert ("patch-count-mismatch", "0001") in found
    gap = next(f for f in doc["findings"] if f["code"] == "patch-number-gap")
    assert gap["message"] == "the series numbers 1 to 10 but 1 patch(es) are missing: 0003"
    mismatch = next(f for f in doc["findings"] if f["code"] == "patch-count-mismatch")
    assert mismatch["message"] == (
        "the subject says [PATCH 1/11] but the directory holds 10 patch(es) (10 patches say /11)"
    )
    assert [f["code"] for f in doc["findings"]].count("patch-count-mismatch") == 1
    assert mismatch["line"] == 4


def test_state_json_processed_prs(summit: tuple[GitRepo, list[Path]], capsys: pytest.CaptureFixture[str]) -> None:
    repo, _ = summit
    repo.checkout("head")
    state = {"processedPRs": [10179], "lastRun": "2025-10-08T14:58:58.442Z", "runSummary": []}
    repo.commit({".orchestrator/state.json": json.dumps(state)}, "state")
    repo.checkout("main")
    code, doc = sequence_json(capsys, repo, "--base", "main", "--head", "head")
    assert code == 0
    assert doc["series"][0]["processed"] is True
    assert doc["state"]["processed_prs"] == ["10179"] and doc["state"]["last_run"] == "2025-10-08T14:58:58.442Z"
    assert doc["state"]["would_record"][0]["pr"] == 10179 and doc["state"]["would_record"][0]["state"] == "ready"
    assert ("series-processed", "1017") in codes(doc)


def test_plan_carries_the_sequence_gate(shared: tuple[GitRepo, list[Path]], capsys: pytest.CaptureFixture[str]) -> None:
    repo, _ = shared
    code, out = run_cli(
        capsys,
        "plan",
        "--repo",
        str(repo.path),
        "--base",
        "main",
        "--head",
        "head",
        "--now",
        "2025-09-20T12:00:00Z",
        "--format",
        "json",
    )
    gate = next(g for g in json.loads(out)["gates"] if g["id"] == "sequence")
    assert code == 0 and gate["status"] == "warn" and gate["applies"] is True
    assert len(gate["series"][0]["patches"]) == 11


def test_markdown_draws_a_mermaid_graph(shared: tuple[GitRepo, list[Path]], capsys: pytest.CaptureFixture[str]) -> None:
    repo, _ = shared
    code, out = run_cli(
        capsys, "sequence", "--repo", str(repo.path), "--base", "main", "--head", "head", "--format", "markdown"
    )
    assert code == 0
    assert "```mermaid\nflowchart TD\n" in out
    assert '  s0p3["0004 ci: tweak workflow (applies)"]:::applies' in out
    assert "  s0p3 --> s0p4" in out and "  s0p4 --> s0p9" in out
    assert '  s0p10["0011 chore: ci retrigger (empty)"]:::empty' in out
    assert "| 0006 | `0006-fix-util-returns-2.patch` | :white_check_mark: applies | — | fix: util returns 2 |" in out


def test_text_output_and_written_file(
    shared: tuple[GitRepo, list[Path]], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    repo, _ = shared
    target = tmp_path / "sequence.txt"
    code, out = run_cli(
        capsys, "sequence", "--repo", str(repo.path), "--base", "main", "--head", "head", "-o", str(target)
    )
    assert code == 0 and out == ""
    text = target.read_text(encoding="utf-8")
    assert text.startswith("sequence: warn - 1 series, 11 patch(es): every series applies to the base\n")
    assert "    0008  applies         fix: helpers return 3  after 0007\n" in text
    assert "independent groups: {0001}; {0002}; {0003}; {0004, 0005, 0010}; {0006, 0007, 0008}; {0009}; {0011}" in text


def test_working_tree_applies_against_head(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    repo = make_repo(sf.BASE_FILES)
    repo.branch("feature", "main")
    repo.commit({"README.md": "# project\nmore\n"}, "docs: more")
    files = sf.format_patch(repo, "main", "feature", tmp_path / "out")
    repo.checkout("main")
    repo.write({f"{SERIES}/{p.name}": p.read_bytes() for p in files})  # untracked, in the working tree
    code, doc = sequence_json(capsys, repo)
    assert code == 0 and statuses(doc) == {1: "applies"} and doc["status"] == "pass"


def test_series_directory_on_disk(
    shared: tuple[GitRepo, list[Path]], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    repo, _ = shared
    code, doc = sequence_json(capsys, repo, "--base", "main", "--series", str(repo.path.parent / "out"))
    assert code == 0 and doc["series"][0]["pr"] == "out" and len(doc["series"][0]["patches"]) == 11


def test_no_series_and_plain_directory_are_skipped(
    make_repo: Callable[..., GitRepo], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo({"README.md": "x\n"})
    code, doc = sequence_json(capsys, repo)
    assert code == 0 and doc["status"] == "skipped" and doc["applies"] is None
    assert doc["summary"] == "no patch series under .orchestrator/patches/<pr>/"
    plain = tmp_path / "plain"
    (plain / SERIES).mkdir(parents=True)
    (plain / SERIES / "0001-x.patch").write_text("diff --git a/x b/x\n", encoding="utf-8")
    code, out = run_cli(capsys, "sequence", "--repo", str(plain))
    assert code == 0
    assert out.startswith(
        f"sequence: skipped - {plain} is not a git repository with a commit: patch series cannot be trial-applied"
    )


def test_missing_series_dir_and_ref_exit_2(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo({"README.md": "x\n"})
    assert main(["sequence", "--repo", str(repo.path), "--series", "/nonexistent/dir"]) == 2
    assert "--series /nonexistent/dir: no such directory" in capsys.readouterr().err
    assert main(["sequence", "--repo", str(repo.path), "--base", "nope", "--head", "main"]) == 2


def test_mermaid_labels_are_escaped_and_stray_files_warned(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    repo = make_repo(sf.BASE_FILES)
    repo.branch("feature", "main")
    repo.commit({"README.md": "# project\nmore\n"}, 'docs: say "hi" [draft] <b>|x|</b>')
    files = sf.format_patch(repo, "main", "feature", tmp_path / "out")
    repo.checkout("main")
    repo.write({f"{SERIES}/{p.name}": p.read_bytes() for p in files})
    repo.write({".orchestrator/patches/README.md": "how we ship\n"})
    code, out = run_cli(capsys, "sequence", "--repo", str(repo.path), "--format", "markdown")
    assert code == 0
    assert (
        '  s0p0["0001 docs: say #quot;hi#quot; #91;draft#93; #lt;b#gt;#124;x#124;#lt;/b#gt; (applies)"]:::applies'
        in out
    )
    code, doc = sequence_json(capsys, repo)
    assert [(f["code"], f["severity"], f["path"]) for f in doc["findings"]] == [
        ("patch-misplaced", "warning", ".orchestrator/patches/README.md"),
    ]
    assert doc["status"] == "warn" and doc["applies"] is True


def test_a_duplicate_without_revert_is_already_applied(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    repo = make_repo(sf.BASE_FILES)
    repo.branch("feature", "main")
    repo.commit({"README.md": "# project\nmore\n"}, "docs: more")
    files = sf.format_patch(repo, "main", "feature", tmp_path / "out")
    repo.checkout("main")
    again = files[0].read_bytes().replace(b"[PATCH]", b"[PATCH 2/2]")
    first = files[0].read_bytes().replace(b"[PATCH]", b"[PATCH 1/2]")
    repo.write({f"{SERIES}/0001-docs-more.patch": first, f"{SERIES}/0002-docs-more.patch": again})
    code, doc = sequence_json(capsys, repo)
    assert code == 0 and statuses(doc) == {1: "applies", 2: "already-applied"}
    assert codes(doc) == [("patch-already-applied", "0002"), ("patch-duplicate", "0002")]
    assert doc["series"][0]["order"] == ["0001-docs-more.patch"]


def test_real_state_json_from_the_corpus(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    state = CORPUS / ".orchestrator" / "state.json"
    require(state.is_file(), f"the corpus file {state} is not present")
    repo = make_repo(sf.BASE_FILES)
    repo.branch("feature", "main")
    repo.commit({"README.md": "# project\nmore\n"}, "docs: more")
    files = sf.format_patch(repo, "main", "feature", tmp_path / "out")
    repo.checkout("main")
    repo.write({".orchestrator/state.json": state.read_bytes(), f"{SERIES}/{files[0].name}": files[0].read_bytes()})
    code, doc = sequence_json(capsys, repo)
    assert code == 0
    assert doc["state"]["file"] == ".orchestrator/state.json"
    assert doc["state"]["processed_prs"] == [] and doc["state"]["last_run"] == "2025-10-08T14:58:58.442Z"
    assert doc["state"]["would_record"] == [
        {
            "pr": 10179,
            "state": "ready",
            "actionTaken": "sequenced",
            "primaryIssue": None,
            "patches": 1,
            "statuses": {"applies": 1},
        }
    ]


def test_large_patch_and_an_addition_that_already_exists(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    repo = make_repo(sf.BASE_FILES)
    repo.branch("feature", "main")
    big = "".join(f"generated line {i}\n" for i in range(7_003))
    files59 = {f"gen/m{i:02d}.txt": f"{i}\n" for i in range(57)} | {"gen/big.txt": big, "notes.md": "n\n"}
    repo.commit(files59, "feat: generate 59 files")
    files = sf.format_patch(repo, "main", "feature", tmp_path / "out")
    repo.checkout("main")
    repo.commit({"notes.md": "already here\n"}, "notes exist in base")
    sf.publish(repo, files, pr="42")
    code, doc = sequence_json(capsys, repo, "--base", "main", "--head", "head")
    assert code == 1 and statuses(doc) == {1: "conflicts"}
    patch = doc["series"][0]["patches"][0]
    assert len(patch["paths"]) == 59
    assert patch["conflicts"][0]["file"] == "notes.md"
    assert patch["conflicts"][0]["message"] == "already exists in index"
    repo.git("reset", "-q", "--hard", "HEAD~1")
    code, doc = sequence_json(capsys, repo, "--base", "main", "--head", "head")
    assert code == 0 and statuses(doc) == {1: "applies"}


def test_plan_comment_carries_the_graph(shared: tuple[GitRepo, list[Path]], capsys: pytest.CaptureFixture[str]) -> None:
    repo, _ = shared
    code, out = run_cli(
        capsys,
        "plan",
        "--repo",
        str(repo.path),
        "--base",
        "main",
        "--head",
        "head",
        "--now",
        "2025-09-20T12:00:00Z",
        "--format",
        "markdown",
    )
    assert code == 0
    assert "<details><summary>Patch series for PR 10179: applies (11 patches)</summary>\n\n```mermaid\n" in out
    assert "  s0p3 --> s0p4\n" in out


def test_in_base_by_patch_id_when_base_moved_on(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    repo = make_repo(sf.BASE_FILES)
    repo.branch("feature", "main")
    repo.commit({"src/util.py": "def util():\n    return 5\n"}, "fix: five")
    files = sf.format_patch(repo, "main", "feature", tmp_path / "out")
    repo.checkout("main")
    repo.git("cherry-pick", "feature")
    picked = repo.git("rev-parse", "HEAD")
    repo.commit({"src/util.py": "def util():\n    return 6\n"}, "fix: six after all")
    sf.publish(repo, files, pr="11")
    code, doc = sequence_json(capsys, repo, "--base", "main", "--head", "head")
    assert code == 0 and statuses(doc) == {1: "in-base"}
    assert doc["series"][0]["patches"][0]["base_commit"] == picked
    message = next(f["message"] for f in doc["findings"] if f["code"] == "patch-in-base")
    assert message == f"already in the base branch as commit {picked[:12]} (same git patch-id): drop it from the series"


def test_outputs_match_the_published_schema(
    shared: tuple[GitRepo, list[Path]], capsys: pytest.CaptureFixture[str], make_repo: Callable[..., GitRepo]
) -> None:
    schema = json.loads((Path(__file__).resolve().parents[2] / "schemas" / "sequence.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    repo, _ = shared
    _, doc = sequence_json(capsys, repo, "--base", "main", "--head", "head")
    jsonschema.validate({k: v for k, v in doc.items() if k != "changebot"}, schema)
    _, empty = sequence_json(capsys, make_repo({"README.md": "x\n"}))
    jsonschema.validate({k: v for k, v in empty.items() if k != "changebot"}, schema)


def test_a_series_that_does_not_apply_fails_the_sequence_gate_only(
    summit: tuple[GitRepo, list[Path]], capsys: pytest.CaptureFixture[str]
) -> None:
    repo, _ = summit
    repo.commit({"src/util.py": "def util():\n    return 99\n"}, "base moved on")
    code, out = run_cli(
        capsys,
        "plan",
        "--repo",
        str(repo.path),
        "--base",
        "main",
        "--head",
        "head",
        "--now",
        "2025-09-20T12:00:00Z",
        "--format",
        "json",
    )
    gates = {g["id"]: g for g in json.loads(out)["gates"]}
    assert code == 1 and gates["sequence"]["applies"] is False
    assert gates["sequence"]["status"] == "fail"
    # reported once, by the sequence gate: the default library no longer repeats it
    assert [f for f in gates["policy"]["findings"] if "does not apply" in f["message"]] == []


@pytest.mark.parametrize("name", ["0002-readme.PATCH", "0002-readme", "sub/0002-readme.patch", "notes.txt"])
def test_every_file_under_a_series_directory_is_a_patch_or_an_error(
    name: str, make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A conflicting patch is not skipped for its name or place: it is applied (and conflicts) or refused."""
    repo = make_repo(sf.BASE_FILES)
    repo.branch("feature", "main")
    repo.commit({"src/util.py": "def util():\n    return 2\n"}, "fix: util")
    repo.commit({"README.md": "# project\nfrom the series\n"}, "docs: readme")
    first, second = sf.format_patch(repo, "main", "feature", tmp_path / "out")
    repo.checkout("main")
    repo.commit({"README.md": "# project\nchanged on the base\n"}, "base moves on")
    repo.branch("head", "main")
    body = second.read_bytes() if name != "notes.txt" else b"remember to rebase\n"
    repo.commit({f"{SERIES}/{first.name}": first.read_bytes(), f"{SERIES}/{name}": body}, "series")
    code, doc = sequence_json(capsys, repo, "--base", "main", "--head", "head")
    assert code == 1
    assert doc["status"] == "fail"
    expected = {
        "0002-readme.PATCH": ("patch-conflicts", f"{SERIES}/0002-readme.PATCH"),
        "0002-readme": ("patch-conflicts", f"{SERIES}/0002-readme"),
        "sub/0002-readme.patch": ("patch-misplaced", f"{SERIES}/sub/0002-readme.patch"),
        "notes.txt": ("not-a-patch", f"{SERIES}/notes.txt"),
    }[name]
    assert expected in [(f["code"], f["path"]) for f in doc["findings"] if f["severity"] == "error"]


def test_a_series_dir_on_disk_reports_subdirectories_and_reads_extensionless_patches(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    repo = make_repo(sf.BASE_FILES)
    repo.branch("feature", "main")
    repo.commit({"README.md": "# project\nfrom the series\n"}, "docs: readme")
    [patch] = sf.format_patch(repo, "main", "feature", tmp_path / "out")
    repo.checkout("main")
    repo.commit({"README.md": "# project\nchanged on the base\n"}, "base moves on")
    outgoing = tmp_path / "outgoing"
    (outgoing / "later").mkdir(parents=True)
    (outgoing / "0001-readme").write_bytes(patch.read_bytes())
    code, doc = sequence_json(capsys, repo, "--base", "main", "--series", str(outgoing))
    assert code == 1
    found = [(f["code"], f["path"].rsplit("/", 1)[-1]) for f in doc["findings"] if f["severity"] == "error"]
    assert ("patch-conflicts", "0001-readme") in found
    assert ("patch-not-a-file", "later") in found


@pytest.mark.parametrize("directory", ["with:colon", 'with"quote', "with\\backslash"])
def test_a_repository_path_with_a_colon_or_quote_still_trial_applies(
    directory: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = GitRepo(tmp_path / directory / "repo")
    repo.commit(sf.BASE_FILES, "initial")
    repo.branch("feature", "main")
    repo.commit({"README.md": "# project\nmore\n"}, "docs: more")
    [patch] = sf.format_patch(repo, "main", "feature", tmp_path / "out")
    repo.checkout("main")
    sf.publish(repo, [patch], pr="19")
    code, doc = sequence_json(capsys, repo, "--base", "main", "--head", "head")
    assert (code, doc["findings"], statuses(doc)) == (0, [], {1: "applies"})


def _inflating_series(repo: GitRepo, out: Path, sizes: list[int]) -> list[Path]:
    """One commit per size adding that many zero bytes: each ``--binary`` patch is a few KB of deflate."""
    repo.branch("feature", "main")
    for i, size in enumerate(sizes):
        repo.commit({f"blobs/zero{i}.bin": b"\x00" * size}, f"add {size} zero bytes")
    files = sf.format_patch(repo, "main", "feature", out)
    repo.checkout("main")
    return files


def test_a_deflate_bomb_in_a_binary_patch_is_refused_before_git_inflates_it(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    repo = make_repo(sf.BASE_FILES)
    [bomb] = _inflating_series(repo, tmp_path / "out", [48 * 1024 * 1024])
    assert bomb.stat().st_size < 400_000  # under every read cap: only the inflated size is too large
    sf.publish(repo, [bomb], pr="14")
    code, doc = sequence_json(capsys, repo, "--base", "main", "--head", "head")
    assert code == 1 and statuses(doc) == {1: "invalid"}
    assert [(f["code"], f["message"]) for f in doc["findings"]] == [
        (
            "patch-inflates-too-much",
            "the binary data in this patch inflates to 50,331,648 bytes; the limit is 33,554,432 bytes "
            "(sequence.max_inflated_patch_bytes): it is not applied",
        )
    ]


def test_binary_patches_are_capped_per_series_and_deltas_by_their_result(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    settings = "sequence: {max_inflated_patch_bytes: 3000000, max_inflated_series_bytes: 5000000}\n"
    repo = make_repo({**sf.BASE_FILES, ".maestro/changebot.yaml": settings, "blobs/base.bin": sf.tarball(1_000_000)})
    files = _inflating_series(repo, tmp_path / "out", [2_000_000, 2_000_000, 2_000_000])
    sf.publish(repo, files, pr="14")
    code, doc = sequence_json(capsys, repo, "--base", "main", "--head", "head")
    assert code == 1 and statuses(doc) == {1: "applies", 2: "applies", 3: "invalid"}
    assert [(f["code"], f["path"].rsplit("/", 1)[-1][:4]) for f in doc["findings"]] == [
        ("series-inflates-too-much", "0003")
    ]
    # a small delta whose result is large: copies of the 1 MB base blob, three times over
    repo.git("branch", "-q", "-D", "feature", "head")
    repo.branch("feature", "main")
    repo.commit({"blobs/base.bin": sf.tarball(1_000_000) * 4}, "repeat the blob")
    [delta] = sf.format_patch(repo, "main", "feature", tmp_path / "delta")
    repo.checkout("main")
    assert b"\ndelta " in delta.read_bytes() and delta.stat().st_size < 200_000
    sf.publish(repo, [delta], pr="14")
    code, doc = sequence_json(capsys, repo, "--base", "main", "--head", "head")
    assert code == 1 and statuses(doc) == {1: "invalid"}
    assert [f["code"] for f in doc["findings"]] == ["patch-inflates-too-much"]
    inflated = int(doc["findings"][0]["message"].split("inflates to ")[1].split(" bytes")[0].replace(",", ""))
    assert 4_000_000 <= inflated < 4_000_000 + 2 * 1_000_000  # the result, and both deltas' own data
