"""The CI examples (examples/ci) and the pre-commit hook definition stay true to the CLI.

Checked statically: every YAML file parses; every `reconciler ...` command line in a shell
script, a pre-commit entry or its args names a real subcommand and only options that
subcommand has (introspected from the click group); the workflows treat exit 2 of
`plan --detailed-exitcode` and `drift` as designed. Checked by running them: the GitHub plan and
apply steps, executed with bash as the runner does against the emulator, record changes,
apply the reviewed plan, and fail with the re-plan advice when the plan is stale.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

from reconciler.cli import main
from reconciler.emulator import EmulatorServer
from tests.conftest import TEST_API_KEY

ROOT = Path(__file__).resolve().parent.parent
CI = ROOT / "examples" / "ci"
GITHUB = CI / "github"
GITLAB_CI = CI / "gitlab" / ".gitlab-ci.yml"
HOOKS = ROOT / ".pre-commit-hooks.yaml"
PRE_COMMIT_CONFIG = CI / "pre-commit-config.yaml"
YAML_FILES = sorted([*CI.rglob("*.yml"), *CI.rglob("*.yaml"), HOOKS])

# Shell operators end a command line; shlex with punctuation_chars yields them as tokens.
_OPERATOR = re.compile(r"^[();<>|&]+$")
_HELP = {"-h", "--help"}


@dataclass(frozen=True)
class Invocation:
    """One `reconciler SUB ARGS...` found in a file."""

    source: str
    subcommand: str
    args: tuple[str, ...]

    @property
    def options(self) -> list[str]:
        return [arg.split("=", 1)[0] for arg in self.args if arg.startswith("-") and arg != "-"]

    def __str__(self) -> str:
        return f"{self.source}: reconciler {self.subcommand} {' '.join(self.args)}".rstrip()


def _load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _logical_lines(script: str) -> Iterator[str]:
    """Lines of a shell script with backslash continuations joined."""
    yield from script.replace("\\\n", " ").splitlines()


def _tokens(line: str) -> list[str]:
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    lexer.commenters = "#"
    return list(lexer)


def invocations_in_script(script: str, source: str) -> list[Invocation]:
    """Every `reconciler` command in a shell script; quoted prose is one token and never matches."""
    found = []
    for line in _logical_lines(script):
        tokens = _tokens(line)
        for i, token in enumerate(tokens):
            if token != "reconciler" and not token.endswith("/reconciler"):
                continue
            rest = tokens[i + 1:]
            end = next((j for j, t in enumerate(rest) if _OPERATOR.match(t)), len(rest))
            words = rest[:end]
            if words:
                found.append(Invocation(source, words[0], tuple(words[1:])))
    return found


def github_run_blocks(path: Path) -> list[tuple[str, dict[str, Any]]]:
    """(job id, step) for every step with a `run` script."""
    workflow = _load(path)
    return [(job_id, step) for job_id, job in workflow["jobs"].items() for step in job["steps"] if "run" in step]


def gitlab_scripts(path: Path) -> dict[str, str]:
    """Job name (or 'default') -> its scripts joined as one shell script."""
    config = _load(path)
    scripts = {}
    for name, job in config.items():
        if not isinstance(job, dict):
            continue
        parts = [job.get(key) or [] for key in ("before_script", "script", "after_script")]
        lines = [line for part in parts for line in ([part] if isinstance(part, str) else part)]
        if lines:
            scripts[name] = "\n".join(lines)
    return scripts


def all_invocations() -> list[Invocation]:
    found: list[Invocation] = []
    for path in sorted(GITHUB.glob("*.yml")):
        for job_id, step in github_run_blocks(path):
            found += invocations_in_script(step["run"], f"{path.name}:{job_id}:{step.get('name', 'step')}")
    for name, script in gitlab_scripts(GITLAB_CI).items():
        found += invocations_in_script(script, f".gitlab-ci.yml:{name}")
    hooks = {hook["id"]: hook for hook in _load(HOOKS)}
    for hook in hooks.values():
        command = f"{hook['entry']} {shlex.join(hook.get('args', []))}"
        found += invocations_in_script(command, f".pre-commit-hooks.yaml:{hook['id']}")
    for repo in _load(PRE_COMMIT_CONFIG)["repos"]:
        for hook in repo["hooks"]:
            command = f"{hooks[hook['id']]['entry']} {shlex.join(hook.get('args', []))}"
            found += invocations_in_script(command, f"pre-commit-config.yaml:{hook['id']}")
    return found


def _accepted_options(command: click.Command) -> set[str]:
    names = set(_HELP)
    for param in command.params:
        if isinstance(param, click.Option):
            names.update(param.opts)
            names.update(param.secondary_opts)
    return names


def _params() -> list[Any]:
    return [pytest.param(invocation, id=str(invocation)) for invocation in all_invocations()]


class TestFilesParse:
    @pytest.mark.parametrize("path", YAML_FILES, ids=lambda p: str(p.relative_to(ROOT)))
    def test_yaml_parses(self, path: Path) -> None:
        """Every example and the hook definition is valid YAML with content."""
        assert _load(path)

    def test_examples_are_found(self) -> None:
        """The glob sees the workflows, the GitLab file (a dotfile) and the pre-commit files."""
        names = {p.name for p in YAML_FILES}
        assert {"reconciler-plan.yml", "reconciler-apply.yml", "reconciler-drift.yml", ".gitlab-ci.yml",
                "pre-commit-config.yaml", ".pre-commit-hooks.yaml"} <= names

    def test_hook_definition(self) -> None:
        """The hook the brief names: python, `reconciler validate`, manifest YAML files, filenames passed."""
        hooks = {hook["id"]: hook for hook in _load(HOOKS)}
        hook = hooks["reconciler-validate"]
        assert (hook["language"], hook["entry"], hook["pass_filenames"]) == ("python", "reconciler validate", True)
        pattern = re.compile(hook["files"])
        assert pattern.search("manifests/support/triage.yaml") and pattern.search("manifests/tools.yml")
        assert not pattern.search(".github/workflows/reconciler-plan.yml")
        assert not pattern.search("manifests/README.md")

    def test_config_uses_defined_hooks(self) -> None:
        """The user's example config only names hooks that .pre-commit-hooks.yaml defines."""
        defined = {hook["id"] for hook in _load(HOOKS)}
        used = {hook["id"] for repo in _load(PRE_COMMIT_CONFIG)["repos"] for hook in repo["hooks"]}
        assert used and used <= defined


class TestCommandLines:
    def test_contract_commands_present(self) -> None:
        """The examples run the contract's commands with the contract's options."""
        seen = {(i.subcommand, tuple(sorted(set(i.options)))) for i in all_invocations()}
        assert ("plan", ("--detailed-exitcode", "--format", "--out")) in seen
        assert ("apply", ("--plan", "--yes")) in seen
        assert ("drift", ("--format",)) in seen
        assert ("validate", ()) in seen

    @pytest.mark.parametrize("invocation", _params())
    def test_subcommand_and_options_exist(self, invocation: Invocation) -> None:
        """Each command line uses a real subcommand and only options that subcommand has."""
        assert invocation.subcommand in main.commands, f"{invocation}: no such subcommand"
        accepted = _accepted_options(main.commands[invocation.subcommand])
        unknown = [option for option in invocation.options if option not in accepted]
        assert not unknown, f"{invocation}: unknown options {unknown}"

    def test_parser_sees_through_shell(self) -> None:
        """The extractor stops at redirections and operators and ignores quoted prose and comments."""
        script = ('code=0\nreconciler plan manifests/ --out p.json > p.md || code=$?\n'
                  'echo "then run reconciler apply --bogus" # reconciler drift --nope\n'
                  'reconciler validate \\\n  manifests/')
        got = [(i.subcommand, i.args) for i in invocations_in_script(script, "t")]
        assert got == [("plan", ("manifests/", "--out", "p.json")), ("validate", ("manifests/",))]


def _step(path: Path, name: str) -> dict[str, Any]:
    return next(step for _, step in github_run_blocks(path) if step.get("name") == name)


class TestExitCodeHandling:
    def test_github_plan_treats_2_as_changes(self) -> None:
        """The plan step captures the exit code and accepts 2 (changes) next to 0; other codes fail."""
        for path in (GITHUB / "reconciler-plan.yml", GITHUB / "reconciler-apply.yml"):
            run = _step(path, "Plan" if "plan" in path.name else "Plan main")["run"]
            assert re.search(r"reconciler plan .*--detailed-exitcode.*\|\| code=\$\?", run), path.name
            assert re.search(r"^\s*(2|0\|2)\)", run, re.MULTILINE), path.name
            assert re.search(r"^\s*\*\).*exit \"\$code\"", run, re.MULTILINE), path.name

    def test_github_drift_reports_then_fails_on_2(self) -> None:
        """Drift exit 2 is captured (so the report is still written and uploaded), then fails the job."""
        path = GITHUB / "reconciler-drift.yml"
        run = _step(path, "Drift")["run"]
        assert re.search(r"reconciler drift .*\|\| code=\$\?", run)
        assert re.search(r"^\s*2\) echo \"drift=true\"", run, re.MULTILINE)
        fail = _step(path, "Fail on drift")
        assert "drift == 'true'" in fail["if"] and "exit 2" in fail["run"]
        upload = next(s for s in _load(path)["jobs"]["drift"]["steps"] if s.get("name") == "Upload the report")
        assert upload["if"] == "always()"

    def test_gitlab_handles_2(self) -> None:
        """GitLab: plan jobs accept 0 and 2; the drift job exits with drift's own code."""
        scripts = gitlab_scripts(GITLAB_CI)
        for job in ("reconciler-plan", "reconciler-plan-main"):
            assert '[ "$code" -ne 0 ] && [ "$code" -ne 2 ]' in scripts[job]
        assert re.search(r"reconciler drift .*\|\| code=\$\?", scripts["reconciler-drift"])
        assert scripts["reconciler-drift"].rstrip().endswith('exit "$code"')

    def test_gates_and_serialisation(self) -> None:
        """Apply waits for an approval and never runs twice at once, on both platforms."""
        apply = _load(GITHUB / "reconciler-apply.yml")
        assert apply["jobs"]["apply"]["concurrency"]["cancel-in-progress"] is False
        assert apply["jobs"]["apply"]["environment"]
        gitlab = _load(GITLAB_CI)["reconciler-apply"]
        assert gitlab["resource_group"]
        assert all(rule.get("when") == "manual" for rule in gitlab["rules"])

    def test_applies_are_serialised_per_stack(self) -> None:
        """The apply job's concurrency group (GitHub) and resource_group (GitLab) name one stack, and
        every job that runs `reconciler apply` is in it: the stack lock cannot span CI runners."""
        github = _load(GITHUB / "reconciler-apply.yml")
        assert "concurrency" not in github  # per job: a workflow-wide group would also hold up the plan
        for path in sorted(GITHUB.glob("*.yml")):
            jobs = _load(path)["jobs"]
            for job_id, job in jobs.items():
                applies = [i for s in job["steps"] if "run" in s
                           for i in invocations_in_script(s["run"], job_id) if i.subcommand == "apply"]
                if applies:
                    assert job["concurrency"] == {"group": "reconciler-apply-support-desk",
                                                  "cancel-in-progress": False}, (path.name, job_id)
        scripts = gitlab_scripts(GITLAB_CI)
        jobs = [name for name, script in scripts.items()
                if any(i.subcommand == "apply" for i in invocations_in_script(script, name))]
        assert jobs == ["reconciler-apply"]
        assert _load(GITLAB_CI)["reconciler-apply"]["resource_group"] == "reconciler-apply-support-desk"
        for path in (GITHUB / "reconciler-apply.yml", GITLAB_CI):
            prose = " ".join(line.strip().lstrip("#").strip() for line in path.read_text().splitlines())
            assert "ADAPT: name it after the `stack:` of reconciler.yaml, one group per stack" in prose, path.name

# --- running the GitHub steps -------------------------------------------------------------

def _bash_run(script: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run a step's script as the GitHub runner does (bash -e -o pipefail)."""
    return subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture
def workspace(tmp_path: Path, emulator: EmulatorServer) -> tuple[Path, dict[str, str]]:
    """A user repo with manifests/ (the quickstart) and the runner's environment against the emulator."""
    shutil.copytree(ROOT / "examples" / "quickstart", tmp_path / "manifests")
    env = {key: value for key, value in os.environ.items() if not key.startswith(("TELNYX_", "GITHUB_"))}
    env.update(
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        TELNYX_API_KEY=TEST_API_KEY,
        TELNYX_BASE_URL=emulator.base_url,
        GITHUB_OUTPUT=str(tmp_path / "output"),
        GITHUB_STEP_SUMMARY=str(tmp_path / "summary"),
        NO_COLOR="1",
    )
    return tmp_path, env


class TestGithubStepsRun:
    def test_plan_then_apply_reviewed_plan(self, workspace: tuple[Path, dict[str, str]]) -> None:
        """Plan step: changes -> success with changes=true and plan.json; apply step applies it; re-plan is empty."""
        cwd, env = workspace
        plan = _step(GITHUB / "reconciler-plan.yml", "Plan")["run"]
        apply = _step(GITHUB / "reconciler-apply.yml", "Apply the reviewed plan")["run"]
        done = _bash_run(plan, cwd, env)
        assert done.returncode == 0, done.stderr
        assert "changes=true" in (cwd / "output").read_text()
        assert (cwd / "plan.json").is_file() and "Assistant/support-triage" in (cwd / "plan.md").read_text()
        done = _bash_run(apply, cwd, env)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "1 applied" in (cwd / "summary").read_text()
        (cwd / "output").unlink()
        assert _bash_run(plan, cwd, env).returncode == 0
        assert "changes=false" in (cwd / "output").read_text()

    def test_stale_plan_fails_with_advice(self, workspace: tuple[Path, dict[str, str]]) -> None:
        """A plan made stale by an edit to the manifests fails the apply step, applies nothing, says re-plan."""
        cwd, env = workspace
        assert _bash_run(_step(GITHUB / "reconciler-plan.yml", "Plan")["run"], cwd, env).returncode == 0
        manifest = cwd / "manifests" / "support-triage.yaml"
        manifest.write_text(manifest.read_text().replace("openai/gpt-4o", "openai/gpt-4o-mini"))
        done = _bash_run(_step(GITHUB / "reconciler-apply.yml", "Apply the reviewed plan")["run"], cwd, env)
        assert done.returncode == 1
        assert "::error::The reviewed plan is stale" in done.stdout
        assert "Re-plan" in (cwd / "summary").read_text()

    def test_plan_error_fails(self, workspace: tuple[Path, dict[str, str]]) -> None:
        """Exit 1 of plan (here a rejected API key) fails the step instead of passing as 'changes'."""
        cwd, env = workspace
        env["TELNYX_API_KEY"] = "wrong"
        done = _bash_run(_step(GITHUB / "reconciler-plan.yml", "Plan")["run"], cwd, env)
        assert done.returncode == 1
        assert "::error::reconciler plan failed (exit 1)" in done.stdout

    def test_drift_steps(self, workspace: tuple[Path, dict[str, str]]) -> None:
        """Drift step: in sync passes; drift passes with drift=true and the report saved; the fail step exits 2."""
        cwd, env = workspace
        path = GITHUB / "reconciler-drift.yml"
        drift, fail = _step(path, "Drift")["run"], _step(path, "Fail on drift")["run"]
        assert _bash_run("reconciler apply manifests/ --yes", cwd, env).returncode == 0
        done = _bash_run(drift, cwd, env)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "drift=true" not in (cwd / "output").read_text()
        manifest = cwd / "manifests" / "support-triage.yaml"
        manifest.write_text(manifest.read_text().replace("openai/gpt-4o", "openai/gpt-4o-mini"))
        done = _bash_run(drift, cwd, env)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "drift=true" in (cwd / "output").read_text()
        assert "Assistant/support-triage" in (cwd / "summary").read_text()
        assert '"format_version"' in (cwd / "drift.json").read_text()
        assert _bash_run(fail, cwd, env).returncode == 2


# --- the GitLab helper against a fake GitLab API -------------------------------------------

HELPER = CI / "gitlab" / "reconciler_gitlab.py"


class FakeGitLab(ThreadingHTTPServer):
    """Just the GitLab endpoints the helper calls, for project 1, MR !7 with head `head1`."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _FakeGitLabHandler)
        self.notes: list[dict[str, Any]] = [{"id": 1, "body": "LGTM"}]
        self.merged = True
        self.writes: list[str] = []


class _FakeGitLabHandler(BaseHTTPRequestHandler):
    server: FakeGitLab

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, status: int, payload: Any, raw: bytes | None = None) -> None:
        data = raw if raw is not None else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        return data

    def do_GET(self) -> None:
        if self.headers.get("PRIVATE-TOKEN") != "gl-token":
            return self._send(401, {"message": "401 Unauthorized"})
        path = self.path.split("?", 1)[0].removeprefix("/api/v4/projects/1")
        routes: dict[str, Any] = {
            "/merge_requests/7/notes": self.server.notes,
            "/repository/commits/merge1/merge_requests": [
                {"iid": 7, "state": "merged" if self.server.merged else "opened", "sha": "head1"}],
            "/merge_requests/7/pipelines": [{"id": 12, "sha": "head2"}, {"id": 11, "sha": "head1"}],
            "/pipelines/11/jobs": [{"id": 20, "name": "reconciler-validate"}, {"id": 21, "name": "reconciler-plan"}],
        }
        if path == "/jobs/21/artifacts/plan.json":
            return self._send(200, None, raw=b'{"format_version": 1}')
        if path in routes:
            return self._send(200, routes[path])
        return self._send(404, {"message": "404 Not Found"})

    def do_POST(self) -> None:
        note = {"id": 100 + len(self.server.notes), "body": self._body()["body"]}
        self.server.notes.append(note)
        self.server.writes.append(f"POST {note['id']}")
        self._send(201, note)

    def do_PUT(self) -> None:
        note_id = int(self.path.rsplit("/", 1)[1])
        note = next(n for n in self.server.notes if n["id"] == note_id)
        note["body"] = self._body()["body"]
        self.server.writes.append(f"PUT {note_id}")
        self._send(200, note)


@pytest.fixture
def gitlab(tmp_path: Path) -> Iterator[tuple[FakeGitLab, dict[str, str]]]:
    server = FakeGitLab()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    env = dict(os.environ, CI_API_V4_URL=f"http://127.0.0.1:{server.server_port}/api/v4", CI_PROJECT_ID="1",
               CI_MERGE_REQUEST_IID="7", CI_COMMIT_SHA="merge1", CI_COMMIT_SHORT_SHA="merge1",
               RECONCILER_GITLAB_TOKEN="gl-token")
    try:
        yield server, env
    finally:
        server.shutdown()
        server.server_close()


def _helper(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(HELPER), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=60)


class TestGitlabHelper:
    def test_note_is_created_once_then_updated(self, tmp_path: Path,
                                               gitlab: tuple[FakeGitLab, dict[str, str]]) -> None:
        """The first pipeline posts the plan note; later ones edit that note, leaving others alone."""
        server, env = gitlab
        (tmp_path / "plan.md").write_text("### reconciler plan\n\nfirst\n")
        assert _helper(["note", "plan.md"], tmp_path, env).returncode == 0
        (tmp_path / "plan.md").write_text("### reconciler plan\n\nsecond\n")
        assert _helper(["note", "plan.md"], tmp_path, env).returncode == 0
        assert server.writes == ["POST 101", "PUT 101"]
        assert server.notes[0] == {"id": 1, "body": "LGTM"}
        assert server.notes[1]["body"].startswith("<!-- reconciler-plan -->\n### reconciler plan")
        assert "second" in server.notes[1]["body"] and "first" not in server.notes[1]["body"]

    def test_fetch_plan_of_merged_head(self, tmp_path: Path, gitlab: tuple[FakeGitLab, dict[str, str]]) -> None:
        """The plan comes from the plan job of the pipeline that ran on the merged MR's head commit."""
        _, env = gitlab
        done = _helper(["fetch-plan", "plan.json"], tmp_path, env)
        assert done.returncode == 0, done.stderr
        assert (tmp_path / "plan.json").read_text() == '{"format_version": 1}'
        assert "!7" in done.stdout

    def test_no_merged_request_refuses(self, tmp_path: Path, gitlab: tuple[FakeGitLab, dict[str, str]]) -> None:
        """A commit no merged MR produced has no reviewed plan: fail, and say how to plan afresh."""
        server, env = gitlab
        server.merged = False
        done = _helper(["fetch-plan", "plan.json"], tmp_path, env)
        assert done.returncode == 1 and "RECONCILER_FRESH_PLAN=1" in done.stderr
        assert not (tmp_path / "plan.json").exists()


# --- documentation links -------------------------------------------------------------------

_DOCS = sorted([*(ROOT / "docs" / "workflows").glob("*.md"), CI / "README.md"])
_LINK = re.compile(r"\]\(([^)\s]+)\)")


@pytest.mark.parametrize("page", _DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(page: Path) -> None:
    """Every relative link of the workflow pages and the CI README points at a file that exists."""
    text = page.read_text(encoding="utf-8")
    broken = []
    for target in _LINK.findall(text):
        if re.match(r"^[a-z]+:", target) or target.startswith("#"):
            continue
        path = (page.parent / target.split("#", 1)[0]).resolve()
        if not path.exists():
            broken.append(target)
    assert not broken, f"{page.name}: broken links {broken}"


def test_workflow_pages_have_exit_code_tables() -> None:
    """Each workflow page carries an exit-code table."""
    for name in ("git-managed.md", "pull-requests.md", "drift-detection.md"):
        text = (ROOT / "docs" / "workflows" / name).read_text(encoding="utf-8")
        assert "## Exit codes" in text, name
        assert "| 0 | 1 | 2 |" in text or re.search(r"^\| 0 \|", text, re.MULTILINE), name


def test_the_github_plan_job_turns_the_force_label_into_an_approval() -> None:
    """A plan past a threshold can be approved in the PR: the label re-plans with --force."""
    workflow = yaml.safe_load((GITHUB / "reconciler-plan.yml").read_text(encoding="utf-8"))
    assert "labeled" in workflow[True]["pull_request"]["types"]
    [plan_step] = [s for s in workflow["jobs"]["plan"]["steps"] if s.get("id") == "plan"]
    assert plan_step["env"]["FORCE"] == (
        "${{ contains(github.event.pull_request.labels.*.name, 'reconciler-force') && '--force' || '' }}")
    assert "--detailed-exitcode $FORCE" in plan_step["run"]
