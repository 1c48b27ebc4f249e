"""``reconciler show PLANFILE``: a saved plan rendered again, offline; and the apply prompt wants ``yes``."""

from __future__ import annotations

import difflib
import json
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from reconciler.cli import _confirm_yes
from tests.helpers import REPO, run_cli

DESK = REPO / "examples" / "support-desk"


def test_show_renders_a_saved_plan_in_each_format_without_the_api(emulator: Any, tmp_path: Path) -> None:
    saved = tmp_path / "plan.json"
    planned = run_cli(["plan", str(DESK), "--out", str(saved)], emulator.base_url)
    assert planned.exit_code == 0, planned.output
    text = run_cli(["show", str(saved)])  # no base URL, no key: nothing is contacted
    assert text.exit_code == 0, text.output
    assert text.stdout == planned.stdout, "\n".join(difflib.unified_diff(planned.stdout.splitlines(),
                                                                           text.stdout.splitlines(), lineterm=""))
    markdown = run_cli(["show", str(saved), "--format", "markdown"])
    assert markdown.stdout.startswith("### reconciler plan\n")
    document = json.loads(run_cli(["show", str(saved), "--format", "json"]).stdout)
    assert document["summary"]["create"] == 11 and "saved" not in document


def test_show_refuses_what_is_not_a_saved_plan(tmp_path: Path) -> None:
    other = tmp_path / "x.json"
    other.write_text("{}", encoding="utf-8")
    result = run_cli(["show", str(other)])
    assert result.exit_code == 1 and "not a saved plan" in result.stderr


@pytest.mark.parametrize("edit", [
    {"changes": [1, 2]},
    {"changes": [{"action": "explode", "kind": "Tool", "name": "x"}]},
    {"changes": [{"action": "create", "kind": "Tool", "name": "x", "fields": ["a"]}]},
    {"in_use": {"a": 5}},
], ids=["not-objects", "unknown-action", "field-not-object", "in-use-not-list"])
def test_show_of_an_edited_plan_is_one_error_line(emulator: Any, tmp_path: Path, edit: dict[str, Any]) -> None:
    saved = tmp_path / "plan.json"
    planned = run_cli(["plan", str(REPO / "examples" / "quickstart"), "--out", str(saved)], emulator.base_url)
    assert planned.exit_code == 0
    saved.write_text(json.dumps({**json.loads(saved.read_text()), **edit}), encoding="utf-8")
    for output_format in ("text", "json"):
        result = run_cli(["show", str(saved), "--format", output_format])
        assert (result.exit_code, result.stdout) == (1, "")
        assert result.stderr == (f"Error: {saved}: its changes are not in the shape reconciler saves "
                                 "(not a saved plan, or edited)\n")


def _answer(text: str) -> bool:
    @click.command()
    def ask() -> None:
        click.echo("approved" if _confirm_yes("Apply these changes?") else "cancelled")

    return CliRunner().invoke(ask, input=text).stdout.rstrip().endswith("approved")


def test_only_yes_approves_like_terraform() -> None:
    assert _answer("yes\n")
    assert not _answer("y\n")
    assert not _answer("\n")
    assert not _answer("YES please\n")


def test_no_color_is_a_global_flag(tmp_path: Path) -> None:
    result = CliRunner().invoke(__import__("reconciler.cli", fromlist=["main"]).main, ["--no-color", "--help"])
    assert result.exit_code == 0 and "--no-color" in result.output
