"""Parsing real ``git format-patch`` output: headers, renames, binary patches, quoted paths, bad files."""

from __future__ import annotations

from pathlib import Path

import pytest

from changebot.core.sequence.patches import Patch, c_unquote, parse_patch
from changebot.core.sequence.series import touched_paths
from tests.support import seriesfactory as sf
from tests.support.repos import GitRepo

LIMIT = 1024 * 1024


@pytest.fixture(scope="module")
def series(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    root = tmp_path_factory.mktemp("series")
    repo = GitRepo(root / "repo")
    repo.commit(sf.BASE_FILES, "initial")
    files = sf.summit_series(repo, root / "out")
    return {int(p.name[:4]): p for p in files}


def parse(path: Path) -> Patch:
    parsed = parse_patch(f"p/{path.name}", path.read_bytes(), LIMIT)
    assert parsed.findings == ()
    return parsed.patch


def test_headers_folded_subject_and_numbering(series: dict[int, Path]) -> None:
    patch = parse(series[9])
    assert patch.subject == sf.LONG_SUBJECT
    assert (patch.number, patch.index, patch.total) == (9, 9, 11)
    assert patch.author == "Test Author <author@example.com>"
    assert patch.commit is not None and len(patch.commit) == 40


def test_mime_encoded_subject_and_quoted_non_ascii_path(series: dict[int, Path]) -> None:
    raw = series[3].read_bytes()
    assert b"Content-Transfer-Encoding: 8bit" in raw and b'"b/docs/caf\\303\\251.md"' in raw
    patch = parse(series[3])
    assert patch.subject == "docs: add café notes — naïve résumé"
    assert [(c.kind, c.new_path) for c in patch.changes] == [("add", "docs/café.md")]
    assert patch.changes[0].hunks[0].added == ("crème brûlée\n",)


def test_path_with_spaces_and_no_newline_at_end(series: dict[int, Path]) -> None:
    raw = series[2].read_text(encoding="utf-8")
    assert "+++ b/docs/my guide.md\t\n" in raw and "\\ No newline at end of file" in raw
    patch = parse(series[2])
    change = patch.changes[0]
    assert (change.kind, change.old_path, change.new_path, change.new_mode) == (
        "add",
        None,
        "docs/my guide.md",
        "100644",
    )
    hunk = change.hunks[0]
    lines = raw.splitlines()
    assert lines[hunk.line - 1].startswith("@@ -0,0 +1,2 @@")


def test_rename_of_an_edited_file(series: dict[int, Path]) -> None:
    patch = parse(series[7])
    change = patch.changes[0]
    assert (change.kind, change.old_path, change.new_path, change.similarity) == (
        "rename",
        "src/util.py",
        "src/helpers.py",
        100,
    )
    assert patch.paths == ("src/util.py", "src/helpers.py")
    assert change.hunks == ()


def test_binary_patch_mode_change_and_deletion(series: dict[int, Path]) -> None:
    raw = series[9].read_text(encoding="utf-8")
    assert "GIT binary patch" in raw and "literal 42000" in raw
    patch = parse(series[9])
    kinds = {c.path: (c.kind, c.binary, c.old_mode, c.new_mode) for c in patch.changes}
    assert kinds["assets/bundle.tar.gz"] == ("add", True, None, "100644")
    assert kinds["data/old.txt"][0] == "delete"
    assert kinds["scripts/tool.sh"] == ("modify", False, "100644", "100755")
    assert len(patch.changes) == 11


def test_empty_commit_with_header_and_empty_file(series: dict[int, Path], tmp_path: Path) -> None:
    patch = parse(series[11])
    assert patch.empty and patch.subject == "chore: ci retrigger" and (patch.index, patch.total) == (11, 11)
    zero = parse_patch("p/0030-chore-ci-retrigger.patch", b"", LIMIT)
    assert zero.patch.empty and zero.patch.subject == "chore-ci-retrigger"
    assert [f.code for f in zero.findings] == ["patch-empty-file"]


def test_revert_and_duplicate_signatures(series: dict[int, Path]) -> None:
    tweak, restore, again = parse(series[4]), parse(series[5]), parse(series[10])
    assert restore.reverse_signature() == tweak.signature()
    assert again.signature() == tweak.signature()
    assert parse(series[1]).reverse_signature() != tweak.signature()


def test_truncated_patch_is_reported_at_its_last_line(series: dict[int, Path]) -> None:
    lines = series[1].read_text(encoding="utf-8").splitlines(keepends=True)
    cut = "".join(lines[: next(i for i, x in enumerate(lines) if x.startswith("@@")) + 3]).encode()
    parsed = parse_patch("p/0001-x.patch", cut, LIMIT)
    assert not parsed.patch.valid
    assert [(f.code, f.severity) for f in parsed.findings] == [("patch-truncated", "error")]
    assert "fewer lines than its @@ header promises" in parsed.findings[0].message
    assert parsed.findings[0].line == cut.count(b"\n")


def test_truncated_binary_patch(series: dict[int, Path]) -> None:
    raw = series[9].read_bytes()
    cut = raw[: raw.index(b"\n", raw.index(b"literal 42000") + 2000) + 1]  # at a line's end, mid-block
    parsed = parse_patch("p/0009-x.patch", cut, LIMIT)
    assert [f.code for f in parsed.findings] == ["patch-truncated"]
    assert "binary patch data ends" in parsed.findings[0].message


def test_cut_between_two_files_is_caught_by_the_diffstat(series: dict[int, Path]) -> None:
    raw = series[9].read_bytes()
    cut = raw[: raw.index(b"diff --git a/pkg/mod0.py")]
    parsed = parse_patch("p/0009-x.patch", cut, LIMIT)
    assert not parsed.patch.valid
    assert [f.code for f in parsed.findings] == ["patch-truncated"]
    assert parsed.findings[0].message == (
        "the diffstat announces 11 file(s), +8 -1 but the diff has 2 file(s), +0 -1 and no '-- ' signature: "
        "the file was cut short"
    )
    before_diff = raw[: raw.index(b"diff --git")]
    assert [f.code for f in parse_patch("p/0009-x.patch", before_diff, LIMIT).findings] == ["patch-truncated"]


def test_header_cut_right_after_diff_line(series: dict[int, Path]) -> None:
    raw = series[6].read_bytes()
    cut = raw[: raw.index(b"diff --git") + raw[raw.index(b"diff --git") :].index(b"\n") + 1]
    parsed = parse_patch("p/0006-x.patch", cut, LIMIT)
    assert [f.code for f in parsed.findings] == ["patch-truncated"]


def test_not_a_patch() -> None:
    parsed = parse_patch("p/0001-notes.patch", b"just some notes\nabout nothing\n", LIMIT)
    assert [(f.code, f.line) for f in parsed.findings] == [("not-a-patch", 1)]
    assert "expected git format-patch output" in parsed.findings[0].message
    binary = parse_patch("p/0002-image.patch", b"\x89PNG\r\n\x1a\n\x00\x00", LIMIT)
    assert [f.code for f in binary.findings] == ["not-a-patch"]


def test_crlf_line_endings(series: dict[int, Path]) -> None:
    raw = series[1].read_bytes().replace(b"\n", b"\r\n")
    parsed = parse_patch("p/0001-x.patch", raw, LIMIT)
    assert [(f.code, f.line) for f in parsed.findings] == [("patch-crlf", 1)]
    assert "restore LF line endings" in parsed.findings[0].message


def test_oversized_patch_is_not_parsed() -> None:
    parsed = parse_patch("p/0001-big.patch", b"x" * 2048, 1024)
    assert [f.code for f in parsed.findings] == ["patch-too-large"]
    assert "2,048 bytes; the limit is 1,024 bytes (sequence.max_patch_bytes)" in parsed.findings[0].message


def test_c_unquote() -> None:
    assert c_unquote('"caf\\303\\251.md"') == "café.md"
    assert c_unquote('"tab\\there \\"q\\" back\\\\slash"') == 'tab\there "q" back\\slash'
    assert c_unquote("plain name.md") == "plain name.md"


def test_diff_without_mail_header(series: dict[int, Path]) -> None:
    raw = series[1].read_bytes()
    bare = raw[raw.index(b"diff --git") :]
    patch = parse_patch("p/0001-bare.patch", bare, LIMIT).patch
    assert patch.valid and patch.paths == ("src/app.py",) and patch.subject == ""


def test_path_containing_space_b_slash(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "repo")
    repo.commit({"docs/a b/c.txt": "x\n"}, "initial")
    repo.commit({"docs/a b/c.txt": "y\n"}, "edit")
    raw = repo.git("format-patch", "-1", "--stdout").encode() + b"\n"
    assert b"diff --git a/docs/a b/c.txt b/docs/a b/c.txt\n" in raw  # unidiff splits this line wrongly
    patch = parse_patch("p/0001-edit.patch", raw, LIMIT).patch
    assert [(c.kind, c.old_path, c.new_path) for c in patch.changes] == [("modify", "docs/a b/c.txt", "docs/a b/c.txt")]


def test_two_mails_in_one_file(series: dict[int, Path]) -> None:
    raw = series[1].read_bytes() + series[2].read_bytes()
    parsed = parse_patch("p/0001-two.patch", raw, LIMIT)
    assert [(f.code, f.line) for f in parsed.findings] == [
        ("patch-diffstat-mismatch", 7),  # the first mail's diffstat: 1 file, the diff has 2
        ("patch-several-in-one-file", series[1].read_bytes().count(b"\n") + 1),
    ]
    assert parsed.patch.paths == ("src/app.py", "docs/my guide.md")


def test_paths_a_partial_clone_must_hold(series: dict[int, Path]) -> None:
    files = {f".orchestrator/patches/1/{p.name}": p.read_bytes() for p in series.values()}
    assert touched_paths(files) == {
        "src/app.py",
        ".github/workflows/ci.yml",
        "src/util.py",
        "src/helpers.py",
        "data/old.txt",
        "scripts/tool.sh",
    }


def test_copy_detected_by_git(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "repo")
    body = "".join(f"shared line {i}\n" for i in range(30))
    repo.commit({"lib/a.py": body}, "initial")
    repo.commit({"lib/b.py": body + "extra\n"}, "copy a to b")
    raw = repo.git("format-patch", "-1", "-C", "--find-copies-harder", "--stdout").encode() + b"\n"
    assert b"copy from lib/a.py" in raw
    change = parse_patch("p/0001-copy.patch", raw, LIMIT).patch.changes[0]
    assert (change.kind, change.old_path, change.new_path, change.added) == ("copy", "lib/a.py", "lib/b.py", 1)
    assert change.similarity is not None and change.similarity >= 90


def test_every_truncation_is_a_finding_or_a_smaller_patch_never_a_crash(series: dict[int, Path]) -> None:
    for path in series.values():
        raw = path.read_bytes()
        separator = raw.find(b"\n---\n") + 5  # from here on, a cut is always caught
        signature = raw.rfind(b"\n-- \n") + 1
        for cut in range(1, len(raw), max(1, len(raw) // 150)):
            parsed = parse_patch(f"p/{path.name}", raw[:cut], LIMIT)
            assert parsed.patch.valid or any(f.severity == "error" for f in parsed.findings), (path.name, cut)
            if separator < cut < signature and not raw[cut:].startswith(b"\\ No newline"):
                assert not parsed.patch.valid, (path.name, cut, raw[:cut][-40:])
                assert [f.code for f in parsed.findings if f.severity == "error"] == ["patch-truncated"], cut
            for finding in parsed.findings:
                assert finding.path == f"p/{path.name}" and finding.code
