"""Manifests parsed in a forked child (``parse_ahead``) load exactly as those parsed in the command's process.

The child sends documents without line maps; every line a message or a resource gives must still be
the line of the file, read again. A child that dies, a file it cannot read, a problem in any file:
nothing the user sees may change.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from reconciler.errors import ManifestErrors
from reconciler.manifests.environment import load_environment
from reconciler.manifests.loader import load_resources
from reconciler.manifests.parse_ahead import MIN_BYTES, ParseAhead
from reconciler.manifests.project import load_project
from reconciler.model import Resource
from reconciler.redact import forget_all, known
from tests.conftest import TEST_API_KEY
from tests.helpers import REPO

SUPPORT_DESK = REPO / "examples" / "support-desk"

ASSISTANT = """\
apiVersion: reconciler/v1
kind: Assistant
name: {name}
spec:
  model: openai/gpt-4o
  instructions: |
    {text}
  tools:
    - type: hangup
      hangup:
        description: End the call.
"""


def _tree(root: Path, count: int = 40, padding: int = 200) -> Path:
    """The support desk plus ``count`` assistants of ``padding`` words each."""
    shutil.copytree(SUPPORT_DESK, root)
    for index in range(count):
        text = " ".join(f"word{i}" for i in range(padding))
        (root / f"extra-{index:03d}.yaml").write_text(ASSISTANT.format(name=f"extra-{index}", text=text),
                                                     encoding="utf-8")
    return root


def _facts(resources: list[Resource]) -> list[tuple[Any, ...]]:
    """What the engine uses of a resource, with the line of every path its source knows."""
    out = []
    for r in resources:
        lines = {path: r.source.line_of(path) for path in sorted(r.source.lines, key=repr)}
        out.append((r.kind, r.name, r.spec, r.template, r.file, r.line, r.secrets, r.previous_names, r.warnings,
                    r.source.root_line, lines))
    return out


ENVIRON = {"TOKEN": "t-secret"}


def _outcome(paths: list[Path], ahead: bool) -> tuple[str, Any]:
    started = ParseAhead.start(paths, ENVIRON, force=True) if ahead else None
    try:
        try:
            return "ok", _facts(load_resources(paths, ENVIRON, ahead=started, seen=lambda r: None))
        except ManifestErrors as exc:
            return "problems", [str(p) for p in exc.problems]
    finally:
        if started is not None:
            started.close()
            assert started.delivered == len(started.files)  # the child loaded every one: it was really tested


def test_a_valid_tree_loads_the_same_from_the_child(tmp_path: Path) -> None:
    root = _tree(tmp_path / "m")
    mine = _outcome([root], ahead=False)
    theirs = _outcome([root], ahead=True)
    assert mine[0] == "ok" and len(mine[1]) > 40
    assert theirs == mine


def test_every_problem_keeps_its_file_and_line(tmp_path: Path) -> None:
    """Schema problems (lines read again), YAML issues, empty and unreadable files, a name defined twice."""
    root = _tree(tmp_path / "m", count=5)
    (root / "extra-001.yaml").write_text(ASSISTANT.format(name="extra-1", text="x").replace("model:", "modle:"),
                                         encoding="utf-8")
    (root / "extra-002.yaml").write_text("apiVersion: reconciler/v1\nkind: Assistant\nname: a\nspec: [1,\n",
                                         encoding="utf-8")
    (root / "empty.yaml").write_text("", encoding="utf-8")
    (root / "comments.yaml").write_text("# nothing\n---\n", encoding="utf-8")
    (root / "binary.yaml").write_bytes(b"apiVersion: \xff\xfe\n")
    (root / "twice.yaml").write_text(ASSISTANT.format(name="extra-3", text="again"), encoding="utf-8")
    (root / "env.yaml").write_text(ASSISTANT.format(name="env", text="${env:TOKEN} ${env:MISSING}"),
                                   encoding="utf-8")
    os.mkfifo(root / "pipe.yaml")
    mine = _outcome([root], ahead=False)
    theirs = _outcome([root], ahead=True)
    assert mine[0] == "problems"
    assert any("extra-001.yaml:5: Assistant/extra-1: spec: unknown field 'modle'" in m for m in mine[1]), mine[1]
    assert any("pipe.yaml" in m for m in mine[1]) and any("is defined twice" in m for m in mine[1])
    assert any("env.yaml:6:" in m and "MISSING" in m for m in mine[1]), mine[1]
    assert theirs == mine


def test_a_child_that_dies_leaves_the_files_to_the_command(tmp_path: Path) -> None:
    root = _tree(tmp_path / "m")
    mine = _outcome([root], ahead=False)
    for after in (0, 20):  # dead before the command takes a file, and part way through
        started = ParseAhead.start([root], ENVIRON, force=True)
        assert started is not None
        arrived = started.results()
        head = [next(arrived) for _ in range(after)]
        os.kill(started._pid, signal.SIGKILL)
        rest = list(arrived)
        assert sorted(position for position, _, _ in head + rest) == list(range(len(started.files)))
    started = ParseAhead.start([root], ENVIRON, force=True)
    assert started is not None
    os.kill(started._pid, signal.SIGKILL)
    try:
        theirs = _facts(load_resources([root], ENVIRON, ahead=started))
    finally:
        started.close()
    assert ("ok", theirs) == mine


def test_close_stops_a_child_nobody_reads_and_reaps_it(tmp_path: Path) -> None:
    root = _tree(tmp_path / "m")
    started = ParseAhead.start([root], ENVIRON, force=True)
    assert started is not None
    started.close()
    started.close()  # twice is harmless
    with pytest.raises(ChildProcessError):
        os.waitpid(started._pid, os.WNOHANG)  # reaped: no zombie left behind


def test_it_forks_only_alone_and_only_for_a_tree_worth_it(tmp_path: Path) -> None:
    """A process with one thread and a large tree forks; a small tree or a second thread does not."""
    big = _tree(tmp_path / "big", count=400)
    assert sum(p.stat().st_size for p in big.rglob("*.yaml")) > MIN_BYTES
    small = SUPPORT_DESK
    probe = (
        "import sys, threading\n"
        "from reconciler.manifests.parse_ahead import ParseAhead\n"
        "def started(path):\n"
        "    a = ParseAhead.start([path], {})\n"
        "    if a is not None: a.close()\n"
        "    return a is not None\n"
        "print(started(sys.argv[1]), started(sys.argv[2]), end=' ')\n"
        "t = threading.Thread(target=threading.Event().wait, args=(5,), daemon=True); t.start()\n"
        "print(started(sys.argv[1]), end='')\n"
    )
    result = subprocess.run([sys.executable, "-c", probe, str(big), str(small)], capture_output=True, text=True,
                            timeout=60, check=False, cwd=REPO)
    assert (result.returncode, result.stdout, result.stderr) == (0, "True False False", "")


def test_plan_from_the_command_line_reports_lines_read_again(tmp_path: Path, emulator: Any) -> None:
    """End to end through the CLI, where the fork happens: a problem deep in a large tree keeps its line."""
    root = _tree(tmp_path / "m", count=400)
    (root / "extra-399.yaml").write_text(ASSISTANT.format(name="extra-399", text="x").replace("model:", "modle:"),
                                         encoding="utf-8")
    script = Path(sys.executable).parent / "reconciler"
    result = subprocess.run([str(script), "plan", str(root), "--base-url", emulator.base_url, "--api-key",
                             TEST_API_KEY], capture_output=True, text=True, timeout=120, check=False)
    bad = root / "extra-399.yaml"
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (f"Error: {bad}:5: Assistant/extra-399: spec: unknown field 'modle' "
                             "(did you mean 'model'?)\n")


def test_the_child_loads_every_file_and_the_command_learns_its_secrets(tmp_path: Path) -> None:
    """Each file arrives loaded (none left to the command), and a secret interpolated in the child is one the
    command masks, even in a document whose problems kept it from becoming a resource."""
    root = _tree(tmp_path / "m", count=3)
    secret = ASSISTANT.format(name="env", text="${secret:TOKEN}").replace("model:", "modle:")
    (root / "env.yaml").write_text(secret, encoding="utf-8")
    os.mkfifo(root / "pipe.yaml")
    forget_all()
    started = ParseAhead.start([root], ENVIRON, force=True)
    assert started is not None
    with started:
        arrived = list(started.results())
    assert len(arrived) == len(started.files) and all(loaded is not None for _, _, loaded in arrived)
    assert "t-secret" not in known()
    secrets = [sorted(loaded.secrets) for _, _, loaded in arrived if loaded is not None and loaded.secrets]
    assert secrets == [["t-secret"]]
    again = ParseAhead.start([root], ENVIRON, force=True)
    assert again is not None
    with again, pytest.raises(ManifestErrors):
        load_resources([root], ENVIRON, ahead=again)
    assert "t-secret" in known()
    forget_all()


def test_var_files_prefix_and_project_passthrough_reach_the_child(tmp_path: Path) -> None:
    """The child loads the var files and the project file the command names: variables, the name prefix,
    passthrough warnings (their lines read again in the child) and a var-file problem all come out the same."""
    root = _tree(tmp_path / "m", count=3)
    (root / "early.yaml").write_text(
        "apiVersion: reconciler/v1\nkind: Assistant\nname: early-adopter\nspec:\n  instructions: ${var:hello}\n"
        "  voice_settings:\n    voice: Telnyx.KokoroTTS.af_heart\n    warmth: 0.7\n", encoding="utf-8")
    project = tmp_path / "reconciler.yaml"
    project.write_text("passthrough:\n  - target: Assistant/early-*\n    fields:\n      - voice_settings.warmth\n",
                       encoding="utf-8")
    var_file = tmp_path / "stg.yaml"
    var_file.write_text("name_prefix: stg-\nvars:\n  hello: Hello from staging.\n", encoding="utf-8")
    environment = load_environment([var_file])
    loaded = load_project(project)

    def outcome(ahead: bool) -> tuple[str, Any]:
        started = ParseAhead.start([root], ENVIRON, [var_file], project, force=True) if ahead else None
        try:
            return "ok", _facts(load_resources([root], ENVIRON, environment=environment, project=loaded,
                                               ahead=started))
        except ManifestErrors as exc:
            return "problems", [str(p) for p in exc.problems]
        finally:
            if started is not None:
                started.close()

    started = ParseAhead.start([root], ENVIRON, [var_file], project, force=True)
    assert started is not None
    with started:
        assert all(loaded is not None for _, _, loaded in started.results())  # the child loaded every file
    mine = outcome(ahead=False)
    assert mine[0] == "ok"
    early = next(fact for fact in mine[1] if fact[1] == "stg-early-adopter")
    assert early[2]["instructions"] == "Hello from staging." and len(early[8]) == 1 and ":8:" in early[8][0]
    assert outcome(ahead=True) == mine
    var_file.write_text("name_prefix: stg-\nvars: {}\n", encoding="utf-8")  # now ${var:hello} is unknown
    environment = load_environment([var_file])
    mine = outcome(ahead=False)
    assert mine[0] == "problems" and any("hello" in m for m in mine[1]), mine
    assert outcome(ahead=True) == mine


def test_a_command_out_of_file_descriptors_loads_in_its_own_process(tmp_path: Path) -> None:
    """No pipe (or no fork) for the child is no error: ``start`` says None and the command loads as before."""
    big = _tree(tmp_path / "big", count=400)
    probe = (
        "import os, resource, sys\n"
        "from reconciler.manifests.parse_ahead import ParseAhead\n"
        "used = len(os.listdir('/proc/self/fd'))\n"
        "resource.setrlimit(resource.RLIMIT_NOFILE, (used, used))\n"
        "print(ParseAhead.start([sys.argv[1]], {}), end='')\n"
    )
    result = subprocess.run([sys.executable, "-c", probe, str(big)], capture_output=True, text=True, timeout=60,
                            check=False, cwd=REPO)
    assert (result.returncode, result.stdout, result.stderr) == (0, "None", "")


def test_a_plan_saved_from_the_child_applies_as_saved(tmp_path: Path, emulator: Any) -> None:
    """plan --out and apply --plan both load through the child: the saved plan is not stale, and applies."""
    root = _tree(tmp_path / "m", count=60, padding=2000)
    assert sum(p.stat().st_size for p in root.rglob("*.yaml")) > MIN_BYTES
    script = str(Path(sys.executable).parent / "reconciler")
    connection = ["--base-url", emulator.base_url, "--api-key", TEST_API_KEY]
    saved = tmp_path / "plan.json"
    planned = subprocess.run([script, "plan", str(root), "--out", str(saved), *connection], capture_output=True,
                             text=True, timeout=120, check=False, cwd=tmp_path)
    assert planned.returncode == 0, planned.stderr
    applied = subprocess.run([script, "apply", "--plan", str(saved), "--yes", *connection], capture_output=True,
                             text=True, timeout=300, check=False, cwd=tmp_path)
    assert applied.returncode == 0, applied.stderr
    assert "0 failed" in applied.stdout and "stale" not in applied.stderr
    again = subprocess.run([script, "plan", str(root), "--detailed-exitcode", *connection], capture_output=True,
                           text=True, timeout=120, check=False, cwd=tmp_path)
    assert (again.returncode, again.stdout.splitlines()[-1]) == (0, "No changes. 70 objects match the manifests.")


def test_plan_local_on_a_large_tree_loads_in_a_child_and_stops_its_emulator(tmp_path: Path) -> None:
    """The loading child is forked before --local's emulator starts: it holds none of the emulator's pipes,
    so the emulator still sees its stdin close when the command ends, and the next --local run gets the state."""
    root = _tree(tmp_path / "m", count=400)
    script = str(Path(sys.executable).parent / "reconciler")
    for _ in range(2):
        result = subprocess.run([script, "plan", str(root), "--local", "--detailed-exitcode"], capture_output=True,
                                text=True, timeout=120, check=False, cwd=tmp_path)
        assert (result.returncode, result.stderr) == (2, ""), result.stderr
        assert "Plan: 411 to create, 0 to update, 0 to delete; plus 2 link steps." in result.stdout
        lock = os.open(tmp_path / ".reconciler" / "local-state.json.lock", os.O_RDWR)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # the emulator, stopped, no longer holds it
        finally:
            os.close(lock)


def _children(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/task/{pid}/children").read_text(encoding="ascii").split()
    except OSError:
        return []


def test_apply_reads_the_manifests_only_once_it_holds_the_stack_lock(tmp_path: Path, emulator: Any) -> None:
    """A manifest written while another command holds the stack's lock is part of the apply that waited for it
    (review finding: the loading child read the tree before the lock, and the apply missed the new file)."""
    root = _tree(tmp_path / "m", count=400)
    (tmp_path / "reconciler.yaml").write_text("stack: desk\n", encoding="utf-8")
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys\nfrom reconciler.engine.lock import stack_lock, lock_path\n"
         "from pathlib import Path\nwith stack_lock('desk', lock_path(Path('.reconciler/ownership-desk.json')), 0, "
         "'import'):\n    print('held', flush=True)\n    sys.stdin.readline()\n"],
        cwd=tmp_path, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        script = str(Path(sys.executable).parent / "reconciler")
        apply = subprocess.Popen([script, "apply", str(root), "--yes", "--lock-timeout", "60", "--base-url",
                                  emulator.base_url, "--api-key", TEST_API_KEY], cwd=tmp_path,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(30):  # until the apply forks its loading child, or 3 s: it must not before the lock
            if _children(apply.pid):
                break
            time.sleep(0.1)
        (root / "late.yaml").write_text(ASSISTANT.format(name="late", text="written under the lock"),
                                        encoding="utf-8")
    finally:
        holder.communicate("\n", timeout=30)
    out, err = apply.communicate(timeout=300)
    assert apply.returncode == 0, err
    assert "+ Assistant/late will be created" in out
