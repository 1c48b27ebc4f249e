"""Small helpers shared by the CLI tests: run the CLI in-process against a live emulator."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from click.testing import CliRunner, Result

from reconciler.cli import main

API_KEY = "test-key-not-secret"
REPO = Path(__file__).resolve().parent.parent
QUICKSTART = REPO / "examples" / "quickstart"


def run_cli(args: list[str], base_url: str | None = None, env: Mapping[str, str] | None = None,
            stdin: str | None = None) -> Result:
    """Invoke ``reconciler`` with the emulator's URL and key in the environment, as a user would."""
    full_env = {"NO_COLOR": "1"}
    if base_url is not None:
        full_env.update({"TELNYX_BASE_URL": base_url, "TELNYX_API_KEY": API_KEY})
    full_env.update(env or {})
    return CliRunner().invoke(main, args, env=full_env, input=stdin, catch_exceptions=False)
