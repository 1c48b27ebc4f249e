"""What a command imports: a command pays only for the modules it uses (issue 18)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PROBE = """
import sys
from click.testing import CliRunner
from reconciler.cli import main
after_import = "jsonschema" in sys.modules
result = CliRunner().invoke(main, ["validate", sys.argv[1]])
assert result.exit_code == 0, result.output
print(after_import, "jsonschema" in sys.modules)
"""


def test_the_cli_and_validating_a_valid_file_do_not_import_jsonschema() -> None:
    """jsonschema costs about 0.1 s to import; only a document the compiled check refuses needs it."""
    result = subprocess.run(
        [sys.executable, "-c", PROBE, str(ROOT / "examples" / "quickstart")],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        timeout=120,
    )
    assert result.stdout.split() == ["False", "False"]


RUN = """
import json
import sys

from reconciler.cli import main

try:
    main(sys.argv[1:], prog_name="reconciler")
except SystemExit as exc:
    code = exc.code
print(json.dumps({"exit": code, "modules": sorted(sys.modules)}), file=sys.stderr)
"""

HEAVY = ("httpx", "httpcore", "deepdiff", "starlette", "uvicorn", "jsonschema", "ijson", "rich")
"""Libraries no offline command needs: the API client's, the emulator's, the item matcher's, jsonschema's."""

NOT_FOR_VALIDATE = (
    "reconciler.api.client",
    "reconciler.changes",
    "reconciler.emulator",
    "reconciler.engine",
    "reconciler.export",
    "reconciler.kinds",
    "reconciler.planfile",
    "reconciler.render",
    "reconciler.verify.",
)
"""Validating reads, interpolates and checks manifests: no planning, applying, exporting, testing or rendering."""


def _modules_after(*args: str) -> set[str]:
    """The modules loaded once ``reconciler ARGS`` has run to its end (exit 0) in a fresh interpreter."""
    result = subprocess.run(
        [sys.executable, "-c", RUN, *args], capture_output=True, text=True, check=True, cwd=ROOT, timeout=120
    )
    report = json.loads(result.stderr.splitlines()[-1])
    assert report["exit"] == 0, result.stdout + result.stderr
    return set(report["modules"])


def _loaded(modules: set[str], prefixes: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == p or m.startswith(p if p.endswith(".") else p + ".")
                                             for p in prefixes))


def test_version_imports_click_and_almost_nothing_of_reconciler() -> None:
    """``reconciler --version`` (and the import of the command line) pays for no command's modules (issue 18)."""
    modules = _modules_after("--version")
    assert _loaded(modules, (*HEAVY, *NOT_FOR_VALIDATE, "yaml", "reconciler.manifests")) == []
    assert {m for m in modules if m.startswith("reconciler")} <= {
        "reconciler", "reconciler.cli", "reconciler.config", "reconciler.api", "reconciler.api.limits",
        "reconciler.errors", "reconciler.model", "reconciler.redact", "reconciler.verify",
    }


def test_validating_one_file_imports_only_what_loading_manifests_needs() -> None:
    """No HTTP client, engine, export, renderer, test runner or emulator to validate a valid file (issue 18)."""
    modules = _modules_after("validate", str(ROOT / "examples" / "quickstart" / "support-triage.yaml"))
    assert "reconciler.manifests.loader" in modules  # it did load the file
    assert _loaded(modules, (*HEAVY, *NOT_FOR_VALIDATE)) == []


def test_the_client_does_not_import_the_command_line_of_httpx() -> None:
    """httpx loads its own CLI (rich, pygments: about 90 ms) where they are installed, as in the test extras;
    reconciler never runs it, so its client leaves it out, and a program that imports it afterwards still can."""
    code = ("import sys, reconciler.api.client, httpx\n"
            "print('httpx._main' in sys.modules, 'rich' in sys.modules)\n"
            "import httpx._main\n"
            "print(httpx._main.main.name, 'rich' in sys.modules)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert (result.returncode, result.stdout, result.stderr) == (0, "False False\nmain True\n", "")
