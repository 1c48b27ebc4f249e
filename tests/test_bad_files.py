"""The other files a user names, read like manifests: project files, var files and saved plans.

Each goes through the bounded, duplicate-key-refusing reader and is refused with ``FILE:LINE``;
special files (a FIFO, ``/dev/zero``, a symbolic link loop) are refused before a byte is read,
whichever option names them. No case sends a request.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import QUICKSTART, run_cli
from tests.test_loader import DATA, expected_lines

BAD = DATA / "bad"
CONFIG_CASES = sorted(p.name for p in (BAD / "config").glob("*.yaml"))
VAR_FILE_CASES = sorted(p.name for p in (BAD / "var-files").glob("*.yaml"))

PLAN_CASES = {
    "deep-nesting.json": "Error: deep-nesting.json: nesting is deeper than 64 levels (not a saved plan)",
    "duplicate-key.json": "Error: duplicate-key.json: duplicate key 'format_version' in one object (not a saved plan)",
    "lone-surrogate.json": r"Error: lone-surrogate.json: a lone surrogate (\ud800-\udfff) is not Unicode text"
                           " (not a saved plan)",
    "manifests-not-a-mapping.json": "Error: manifests-not-a-mapping.json: saved.manifests must be a mapping of "
                                    "address to digest (not a saved plan written by reconciler)",
    "nan.json": "Error: nan.json: NaN is not a JSON number (not a saved plan)",
    "non-utf8.json": "Error: non-utf8.json:3: not UTF-8 text (byte 0xe9) (not a saved plan)",
    "nul-byte.json": "Error: nul-byte.json:3: binary data (a NUL byte), not JSON text (not a saved plan)",
    "not-an-object.json": "Error: not-an-object.json: not a saved plan (write one with "
                          "'reconciler plan --out not-an-object.json')",
    "paths-not-a-list.json": "Error: paths-not-a-list.json: saved.paths must be a list of paths "
                             "(not a saved plan written by reconciler)",
    "prune-not-a-bool.json": "Error: prune-not-a-bool.json: saved.options must be {prune: bool} "
                             "(not a saved plan written by reconciler)",
    "truncated.json": "Error: truncated.json:14: not JSON: Expecting value (not a saved plan)",
    "var-file-null.json": "Error: var-file-null.json: saved.var_files must be a list of paths "
                          "(not a saved plan written by reconciler)",
}


def test_every_broken_plan_file_has_an_expectation() -> None:
    assert sorted(p.name for p in (BAD / "plans").glob("*.json")) == sorted(PLAN_CASES)


@pytest.mark.parametrize("case", CONFIG_CASES)
def test_broken_project_files_are_refused_at_their_line(
    case: str, emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(BAD / "config")
    result = run_cli(["plan", "--config", case, str(QUICKSTART)], emulator.base_url)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == expected_lines(BAD / "config" / case)
    assert emulator.stats()["total"] == 0


@pytest.mark.parametrize("case", VAR_FILE_CASES)
def test_broken_var_files_are_refused_at_their_line(case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(BAD / "var-files")
    result = run_cli(["validate", "--var-file", case, str(QUICKSTART)])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == expected_lines(BAD / "var-files" / case)


@pytest.mark.parametrize("case", sorted(PLAN_CASES))
def test_broken_saved_plans_are_refused(case: str, emulator: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(BAD / "plans")
    result = run_cli(["apply", "--plan", case, "--yes"], emulator.base_url)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [PLAN_CASES[case]]
    assert emulator.stats()["total"] == 0


class TestSpecialFiles:
    """A FIFO would block the first read forever and /dev/zero never ends: both refused from fstat."""

    @pytest.fixture
    def fifo(self, tmp_path: Path) -> Path:
        path = tmp_path / "d" / "a.yaml"
        path.parent.mkdir()
        os.mkfifo(path)
        return path

    def test_a_fifo_in_a_manifest_directory(self, fifo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.chdir(tmp_path)
        result = run_cli(["validate", "d"])
        assert result.exit_code == 1
        assert result.stderr == "d/a.yaml:0: ?/?: $: cannot read: not a regular file: it is a named pipe (FIFO)\n"

    def test_a_fifo_named_as_a_manifest(self, fifo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.chdir(tmp_path)
        result = run_cli(["validate", "d/a.yaml"])
        assert result.exit_code == 1
        assert result.stderr == "d/a.yaml:0: ?/?: $: cannot read: not a regular file: it is a named pipe (FIFO)\n"

    def test_a_fifo_as_var_file(self, fifo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.chdir(tmp_path)
        result = run_cli(["validate", "--var-file", "d/a.yaml", str(QUICKSTART)])
        assert result.exit_code == 1
        assert result.stderr == "d/a.yaml:0: cannot read var file: not a regular file: it is a named pipe (FIFO)\n"

    @pytest.mark.parametrize("special", ["fifo", "/dev/zero"])
    def test_a_special_file_as_config(
        self, special: str, fifo: Path, tmp_path: Path, emulator: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.chdir(tmp_path)
        path, what = ("d/a.yaml", "a named pipe (FIFO)") if special == "fifo" else (special, "a character device")
        result = run_cli(["plan", "--config", path, str(QUICKSTART)], emulator.base_url)
        assert result.exit_code == 1
        assert result.stderr == f"Error: {path}: cannot read the project file: not a regular file: it is {what}\n"
        assert emulator.stats()["total"] == 0

    @pytest.mark.parametrize("special", ["fifo", "/dev/zero"])
    def test_a_special_file_as_saved_plan(
        self, special: str, fifo: Path, tmp_path: Path, emulator: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.chdir(tmp_path)
        path, what = ("d/a.yaml", "a named pipe (FIFO)") if special == "fifo" else (special, "a character device")
        result = run_cli(["apply", "--plan", path, "--yes"], emulator.base_url)
        assert result.exit_code == 1
        assert result.stderr == f"Error: {path}: not a regular file: it is {what} (not a saved plan)\n"
        assert emulator.stats()["total"] == 0

    def test_dev_zero_as_a_manifest(self) -> None:
        result = run_cli(["validate", "/dev/zero"])
        assert result.exit_code == 1
        assert result.stderr == "/dev/zero:0: ?/?: $: cannot read: not a regular file: it is a character device\n"

    def test_a_self_looping_yaml_symlink_in_a_directory(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.chdir(tmp_path)
        (tmp_path / "d").mkdir()
        os.symlink("a.yaml", tmp_path / "d" / "a.yaml")
        result = run_cli(["validate", "d"])
        assert result.exit_code == 1
        assert result.stderr == (
            "d/a.yaml:0: ?/?: $: cannot read: Too many levels of symbolic links (a symbolic link loop)\n"
        )


class TestProjectPatterns:
    def test_a_protect_pattern_that_matches_nothing_is_a_warning(
        self, tmp_path: Path, emulator: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.chdir(tmp_path)
        (tmp_path / "reconciler.yaml").write_text(
            "stack: desk\nprotect:\n  - Assistant/suport-*\nignore:\n  - target: Tool/nothing\n    fields: [a]\n"
        )
        result = run_cli(["plan", str(QUICKSTART)], emulator.base_url)
        assert result.exit_code == 0, result.output
        warnings = [line for line in result.stderr.splitlines() if line.startswith("Warning: ")]
        assert warnings == [
            "Warning: reconciler.yaml:3: protect.0: 'Assistant/suport-*' matches no manifest and no live object",
            "Warning: reconciler.yaml:5: ignore.0.target: 'Tool/nothing' matches no manifest and no live object",
        ]

    def test_a_pattern_that_matches_a_manifest_is_quiet(
        self, tmp_path: Path, emulator: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.chdir(tmp_path)
        (tmp_path / "reconciler.yaml").write_text("stack: desk\nprotect:\n  - Assistant/*\n")
        result = run_cli(["plan", str(QUICKSTART)], emulator.base_url)
        assert result.exit_code == 0, result.output
        assert "Warning" not in result.stderr
