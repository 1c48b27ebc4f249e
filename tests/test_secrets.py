"""No secret leaks: a whole working session never writes the API key or a ``${secret:...}`` value.

One test drives every command a user or CI job runs (validate, plan in three formats and to a
file, apply in both formats, apply of a saved plan, a stale saved plan, a secret rotated, drift
in three formats with and without drift, applies that fail, ``--local``, manifest errors) and
captures everything the session writes: stdout and stderr of each command, log records, and
every file under the working directory afterwards (saved plans, ownership ledgers). The
emulator's own state (``--local``'s ``.reconciler/local-state.json`` included), the "server
side", is not part of it: Telnyx is where the secrets are meant to go.

The assertion message names only where a secret was found (command or file) and which secret,
never the captured text, so a failure of this test does not leak either.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import telnyx

from reconciler.emulator import EmulatorServer
from tests.helpers import API_KEY, run_cli

# Distinctive values that nothing else prints; each one is also checked on its own.
SECRETS = {
    "api key": "KEY-3f9a1c77-e2b4-4d0a-9c5e-visible-never",
    "tool header": "hdrsecret-81c2d9e0a7",
    "inline header": "inlinehdr-5b6e0f13c4",
    "dynamic variable": "dynvarsecret-a91f27",
    "mcp key ref": "mcpkeyref-0c7d55e2b1",
    "rotated tool header": "hdrsecret-rotated-44e1b9",
    "candidate variable": "canarysecret-e83b0d",
}
BAD_SECRETS = {
    "not an integer": "timeoutsecret-9e2a61",
    "not a method": "methodsecret-4b07c8",
}

MANIFESTS = """\
apiVersion: reconciler/v1
kind: Tool
name: lookup-order
spec:
  type: webhook
  webhook:
    name: lookup_order
    description: Look up an order.
    url: https://api.example/orders
    method: POST
    headers:
      - name: Authorization
        value: Bearer ${secret:TOOL_TOKEN}
      - name: X-Team
        value: support
---
apiVersion: reconciler/v1
kind: McpServer
name: crm
spec:
  type: http
  url: https://mcp.crm.example/mcp
  api_key_ref: ${secret:MCP_KEY_REF}
---
apiVersion: reconciler/v1
kind: Assistant
name: triage
spec:
  instructions: You triage calls for {{company}}.
  dynamic_variables:
    company: Acme
    crm_token: ${secret:DYNVAR}
  shared_tools: [lookup-order]
  mcp_servers: [{server: crm}]
  tools:
    - type: webhook
      webhook:
        name: notify
        description: Notify the team.
        url: https://hooks.example/notify
        headers:
          - name: X-Api-Key
            value: ${secret:INLINE_TOKEN}
---
apiVersion: reconciler/v1
kind: CanaryDeploy
name: triage-canary
spec:
  assistant: triage
  versions:
    short:
      instructions: Triage calls for {{company}}, briefly.
      dynamic_variables:
        company: Acme
        crm_token: ${secret:CANARY_TOKEN}
  rules:
    - serve:
        rollout:
          - version: short
            weight: 20
"""

# Two hangup tools: valid as a manifest, refused by the API (single-instance rule), with secrets in the body.
REFUSED_BY_API = """\
apiVersion: reconciler/v1
kind: Assistant
name: refused
spec:
  instructions: Never created.
  dynamic_variables: {token: "${secret:DYNVAR}"}
  tools:
    - {type: hangup, hangup: {description: one}}
    - {type: hangup, hangup: {description: two}}
"""

# A manifest error beside secrets: the headers hold secrets, the missing url is the error.
INVALID = """\
apiVersion: reconciler/v1
kind: Tool
name: bad-tool
spec:
  type: webhook
  webhook:
    name: bad
    description: Bad.
    headers:
      - name: Authorization
        value: ${secret:TOOL_TOKEN}
---
apiVersion: reconciler/v1
kind: Assistant
name: bad-assistant
spec:
  instructions: Uses ${secret:DYNVAR} and ${secret:MISSING_ONE}.
  shared_tools: [no-such-tool]
"""

# Secrets where the schema rejects the value itself: an error message that quotes it leaks it.
SECRET_IS_THE_ERROR = """\
apiVersion: reconciler/v1
kind: Tool
name: quoted-tool
spec:
  type: webhook
  timeout_ms: ${secret:BAD_TIMEOUT}
  webhook:
    name: bad
    description: Bad.
    url: https://api.example/bad
    method: ${secret:BAD_METHOD}
"""


class Session:
    """Runs commands in the working directory and keeps every output under a label."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.outputs: list[tuple[str, str]] = []

    def run(self, label: str, args: list[str], base_url: str | None, expect: int | tuple[int, ...],
            env: dict[str, str] | None = None) -> str:
        result = run_cli(args, base_url, env={**self.env, **(env or {})})
        self.outputs.append((f"{label} (stdout)", result.stdout))
        self.outputs.append((f"{label} (stderr)", result.stderr))
        wanted = expect if isinstance(expect, tuple) else (expect,)
        if result.exit_code not in wanted:
            # Only the exit code in the message: the output may be exactly what leaks.
            pytest.fail(f"{label}: exit {result.exit_code}, expected {wanted}", pytrace=False)
        return str(result.stdout)


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The working directory of the session; anything a command writes relative to it is scanned."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "reconciler.yaml").write_text("stack: secrets\n")
    (tmp_path / "manifests").mkdir()
    (tmp_path / "manifests" / "all.yaml").write_text(MANIFESTS)
    (tmp_path / "refused").mkdir()
    (tmp_path / "refused" / "refused.yaml").write_text(REFUSED_BY_API)
    (tmp_path / "invalid").mkdir()
    (tmp_path / "invalid" / "invalid.yaml").write_text(INVALID)
    (tmp_path / "invalid" / "quoted.yaml").write_text(SECRET_IS_THE_ERROR)
    yield tmp_path


def leaks(where: str, text: str | bytes, secrets: dict[str, str]) -> list[str]:
    data = text.encode() if isinstance(text, str) else text
    return [f"{name!r} in {where}" for name, value in secrets.items() if value.encode() in data]


def test_no_command_output_or_file_of_a_session_contains_a_secret(
    workdir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    key = SECRETS["api key"]
    env = {
        "TELNYX_API_KEY": key,
        "TOOL_TOKEN": SECRETS["tool header"],
        "INLINE_TOKEN": SECRETS["inline header"],
        "DYNVAR": SECRETS["dynamic variable"],
        "MCP_KEY_REF": SECRETS["mcp key ref"],
        "CANARY_TOKEN": SECRETS["candidate variable"],
        "BAD_TIMEOUT": BAD_SECRETS["not an integer"],
        "BAD_METHOD": BAD_SECRETS["not a method"],
    }
    session = Session(env)
    with EmulatorServer(api_key=key) as server, telnyx.Telnyx(api_key=key, base_url=server.base_url) as sdk:
        url = server.base_url
        session.run("validate", ["validate", "manifests"], url, 0)
        for fmt in ("text", "markdown", "json"):
            shown = session.run(f"plan --format {fmt}", ["plan", "manifests", "--format", fmt], url, 0)
            if "(sensitive)" not in shown:
                pytest.fail(f"plan --format {fmt} does not show (sensitive)", pytrace=False)
        session.run("plan --out", ["plan", "manifests", "--out", "plan.json", "--format", "json"], url, 0)
        session.run("apply --plan", ["apply", "--plan", "plan.json", "--yes"], url, 0)
        session.run("plan after apply", ["plan", "manifests", "--detailed-exitcode"], url, 0)
        for fmt in ("text", "markdown", "json"):
            session.run(f"drift in sync --format {fmt}", ["drift", "manifests", "--format", fmt], url, 0)

        # A saved plan that the account outgrew: refused, and the refusal must not quote values.
        session.run("plan --out (to go stale)", ["plan", "manifests", "--out", "stale.json"], url, 0,
                    env={"TOOL_TOKEN": SECRETS["rotated tool header"]})
        triage = next(a for a in sdk.ai.assistants.list().data if a.name == "triage")
        sdk.ai.assistants.update(triage.id, dynamic_variables={"company": "Acme", "crm_token": "edited-by-hand"})
        session.run("apply --plan stale", ["apply", "--plan", "stale.json", "--yes"], url, 1,
                    env={"TOOL_TOKEN": SECRETS["rotated tool header"]})

        # Drift: a secret-bearing field edited by hand, shown in every format.
        for fmt in ("text", "markdown", "json"):
            shown = session.run(f"drift --format {fmt}", ["drift", "manifests", "--format", fmt], url, 2)
            if "(sensitive)" not in shown:
                pytest.fail(f"drift --format {fmt} does not show (sensitive)", pytrace=False)

        # A rotated secret: the live value is the old secret, the desired one the new secret.
        rotated = {"TOOL_TOKEN": SECRETS["rotated tool header"]}
        for fmt in ("text", "markdown", "json"):
            session.run(f"plan rotated --format {fmt}", ["plan", "manifests", "--format", fmt], url, 0, env=rotated)
            session.run(f"drift rotated --format {fmt}", ["drift", "manifests", "--format", fmt], url, 2,
                        env=rotated)
        session.run("apply rotated --format json",
                    ["apply", "manifests", "--yes", "--api-key", key, "--format", "json"], url, 0, env=rotated)
        session.run("plan after rotation", ["plan", "manifests", "--detailed-exitcode"], url, 0, env=rotated)

        # Applies that fail: the API refuses one object, then an account that refuses the key.
        session.run("apply refused by the API", ["apply", "refused", "--yes"], url, 1)
        session.run("apply refused by the API --format json", ["apply", "refused", "--yes", "--format", "json"],
                    url, 1)
        with EmulatorServer(api_key="some-other-key") as refusing:
            session.run("plan, key refused", ["plan", "manifests"], refusing.base_url, 1)
            session.run("apply, key refused", ["apply", "manifests", "--yes"], refusing.base_url, 1)
            session.run("drift, key refused", ["drift", "manifests", "--format", "json"], refusing.base_url, 1)

        # The embedded emulator: its state file is the server side; its ownership ledger is ours.
        session.run("apply --local", ["apply", "manifests", "--local", "--yes"], None, 0)
        session.run("drift --local", ["drift", "manifests", "--local", "--format", "json"], None, 0)

        # Manifest errors beside secrets, and with a secret as the invalid value itself.
        session.run("validate invalid", ["validate", "invalid"], url, 1)
        session.run("plan invalid", ["plan", "invalid", "--format", "json"], url, 1)
        session.run("apply invalid", ["apply", "invalid", "--yes"], url, 1)

    found: list[str] = []
    everything = {**SECRETS, **BAD_SECRETS}
    for where, text in session.outputs:
        found += leaks(where, text, everything)
    found += leaks("log records", caplog.text, everything)
    files = sorted(p for p in workdir.rglob("*") if p.is_file())
    written = [p for p in files if p.suffix == ".json"]
    server_side = workdir / ".reconciler" / "local-state.json"
    assert server_side in files, "apply --local kept no state where expected"
    files.remove(server_side)
    assert {p.name for p in written} >= {"plan.json", "stale.json", "ownership-secrets.json",
                                         "local-ownership-secrets.json"}, (
        f"expected saved plans and the ledger, found {[p.name for p in written]}")
    for path in files:
        if path.suffix == ".yaml":
            continue  # the manifests only hold ${secret:...} references
        found += leaks(str(path.relative_to(workdir)), path.read_bytes(), everything)
    if found:
        pytest.fail("secret values leaked: " + "; ".join(found), pytrace=False)


def test_a_secret_that_is_itself_the_invalid_value_is_not_quoted_in_the_error(workdir: Path) -> None:
    (workdir / "invalid" / "invalid.yaml").unlink()
    session = Session({"BAD_TIMEOUT": BAD_SECRETS["not an integer"], "BAD_METHOD": BAD_SECRETS["not a method"]})
    with EmulatorServer(api_key=API_KEY) as server:
        for command in (["validate", "invalid"], ["plan", "invalid"], ["apply", "invalid", "--yes"]):
            session.run(" ".join(command), command, server.base_url, 1)
    found = [leak for where, text in session.outputs for leak in leaks(where, text, BAD_SECRETS)]
    if found:
        pytest.fail("secret values leaked: " + "; ".join(found), pytrace=False)
    # Checked only now that no secret is in them: each command names both problems, masked.
    expected = (
        "invalid/quoted.yaml:6: Tool/quoted-tool: spec.timeout_ms: '(sensitive)' is not of type 'integer'\n"
        "invalid/quoted.yaml:11: Tool/quoted-tool: spec.webhook.method: '(sensitive)' is not one of "
        "'GET', 'POST', 'PUT', 'DELETE', 'PATCH'\n"
    )
    outputs = dict(session.outputs)
    for command in ("validate invalid", "plan invalid", "apply invalid --yes"):
        assert outputs[f"{command} (stdout)"] == ""
        assert outputs[f"{command} (stderr)"].removeprefix("Error: ") == expected
