"""What a command imports: a command pays only for the modules it uses (issue 18)."""

from __future__ import annotations

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
