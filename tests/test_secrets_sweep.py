"""Secrets that are hard to mask: quotes, backslashes, tabs, newlines, non-ASCII, and too short.

``test_secrets.py`` proves a session never prints a plain secret; this sweep uses values that
change shape on the way out (JSON escapes a tab as ``\\t``, jsonschema quotes a repr, a server
URL-encodes a header) and searches every output and file for each form: raw, JSON-escaped,
repr, URL-encoded and base64. It also runs against servers that echo the key back, and checks
the rules that make masking safe: whole words only, no secret shorter than 4 characters, and
header values masked by field even when they are no ``${secret:...}`` value. Every command of the
CLI is run (a test below checks the list), ``reconciler emulator`` as its own process.
"""

from __future__ import annotations

import base64
import json
import os
import re
import select
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote, quote_plus

import httpx
import pytest
import telnyx

from reconciler.cli import main
from reconciler.emulator import EmulatorServer
from reconciler.redact import MASK, mask_fields, mask_text
from tests.helpers import QUICKSTART, run_cli
from tests.hostile import HostileServer
from tests.test_secrets import INVALID, MANIFESTS, REFUSED_BY_API, SECRET_IS_THE_ERROR, Session

KEY = "KEY-\"q'\\b-5d1e9f-a7"  # printable ASCII: a header can carry it
TRICKY = {
    "TOOL_TOKEN": "tab\tsecret-8e1f",
    "INLINE_TOKEN": "quote\"secret'-77ab",
    "DYNVAR": "back\\slash-secret-41c9",
    "MCP_KEY_REF": "new\nline-secret-903d",
    "CANARY_TOKEN": "non-ascii-sécret-Ω-6b2a",
    "BAD_TIMEOUT": "tab\ttimeout-secret-19c0",
    "BAD_METHOD": "méthod\\secret\n-2f4e",
}


def forms(secret: str) -> dict[str, str]:
    data = secret.encode()
    return {
        "raw": secret,
        "json": json.dumps(secret)[1:-1],
        "json (utf-8)": json.dumps(secret, ensure_ascii=False)[1:-1],
        "repr": repr(secret)[1:-1],
        "url-encoded": quote(secret, safe=""),
        "url-encoded (plus)": quote_plus(secret),
        "base64": base64.b64encode(data).decode().rstrip("="),
    }


def leaks(where: str, text: str | bytes, secrets: dict[str, str]) -> list[str]:
    """Which secret, in which form, is where: never the text itself (it may be what leaks)."""
    data = text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass")
    return [f"{name!r} as {form} in {where}" for name, secret in secrets.items()
            for form, value in forms(secret).items() if value.encode() in data]


# A test whose scenario and rubric quote secrets: the emulator's judge echoes quoted terms in its logs,
# which `reconciler test` prints for a test that did not pass.
ASSISTANT_TEST = """\
apiVersion: reconciler/v1
kind: AssistantTest
name: quotes-secrets
spec:
  assistant: triage
  instructions: Say ${secret:CANARY_TOKEN}, then stop.
  rubric:
    - name: says the token
      criteria: 'Says "${secret:INLINE_TOKEN}" and `${secret:TOOL_TOKEN}`.'
"""


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "reconciler.yaml").write_text("stack: sweep\n")
    for folder, name, text in (("manifests", "all.yaml", MANIFESTS), ("refused", "refused.yaml", REFUSED_BY_API),
                               ("invalid", "invalid.yaml", INVALID), ("invalid", "quoted.yaml", SECRET_IS_THE_ERROR)):
        (tmp_path / folder).mkdir(exist_ok=True)
        (tmp_path / folder / name).write_text(text)
    (tmp_path / "manifests" / "tests.yaml").write_text(ASSISTANT_TEST)
    return tmp_path


class Sweep(Session):
    """A session that also notes which commands it ran."""

    def __init__(self, env: dict[str, str]) -> None:
        super().__init__(env)
        self.commands: set[str] = set()

    def run(self, label: str, args: list[str], base_url: str | None, expect: int | tuple[int, ...],
            env: dict[str, str] | None = None) -> str:
        self.commands.add(args[0])
        return super().run(label, args, base_url, expect, env)

    def emulator_process(self, state: Path) -> None:
        """``reconciler emulator --api-key KEY --state STATE`` on a free port: planned against, asked with a
        wrong key, written to, a second emulator refused on the same state, then stopped as a service
        manager would (SIGTERM). Its output joins the session's; its state and lock files are scanned
        like any other file (nothing secret is written to it: the manifests are only planned)."""
        self.commands.add("emulator")
        args = [sys.executable, "-m", "reconciler", "emulator", "--port", "0", "--api-key", KEY, "--state", str(state)]
        env = {**os.environ, **self.env, "NO_COLOR": "1"}
        state.parent.mkdir(exist_ok=True)
        process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        assert process.stderr is not None
        try:
            ready, until = b"", time.monotonic() + 30
            while b"\n" not in ready and time.monotonic() < until and process.poll() is None:
                if select.select([process.stderr], [], [], 0.2)[0]:
                    ready += os.read(process.stderr.fileno(), 4096)
            found = re.search(rb"listening on (\S+)", ready)
            if found is None:
                pytest.fail("reconciler emulator did not start", pytrace=False)
            url = found.group(1).decode()
            project = state.with_name("reconciler.yaml")  # another account: a stack of its own
            project.write_text("stack: sweep-emulator\n")
            self.run("plan against reconciler emulator", ["plan", "manifests", "--config", str(project)], url, 0)
            wrong = httpx.get(url + "/ai/assistants", headers={"Authorization": "Bearer portal-value-1f"})
            self.outputs.append(("emulator answer to a wrong key", wrong.text))
            written = httpx.post(url + "/ai/assistants", json={"name": "probe", "instructions": "x"},
                                 headers={"Authorization": f"Bearer {KEY}", "Idempotency-Key": "probe-1"})
            if written.status_code != 200:  # a write, so that the state file exists and is scanned
                pytest.fail(f"reconciler emulator: HTTP {written.status_code} to a create", pytrace=False)
            self.run("a second emulator on its state", ["emulator", "--port", "0", "--api-key", KEY, "--state",
                                                        str(state)], None, 1)
        finally:
            process.terminate()
            try:
                out, err = process.communicate(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                out, err = process.communicate()
        self.outputs.append(("reconciler emulator (stdout)", out.decode("utf-8", "replace")))
        self.outputs.append(("reconciler emulator (stderr)", (ready + err).decode("utf-8", "replace")))
        if process.returncode != 0:
            pytest.fail(f"reconciler emulator: exit {process.returncode} on SIGTERM", pytrace=False)


def test_no_form_of_a_tricky_secret_or_key_is_in_any_output_or_file(workdir: Path) -> None:
    session = Sweep({"TELNYX_API_KEY": KEY, **TRICKY})
    any_code = (0, 1, 2)
    with EmulatorServer(api_key=KEY) as server, telnyx.Telnyx(api_key=KEY, base_url=server.base_url) as sdk:
        url = server.base_url
        session.run("validate", ["validate", "manifests"], url, 0)
        for fmt in ("text", "markdown", "json"):
            session.run(f"plan --format {fmt}", ["plan", "manifests", "--format", fmt], url, 0)
        session.run("plan --out", ["plan", "manifests", "--out", "plan.json"], url, 0)
        for fmt in ("text", "markdown", "json"):
            session.run(f"show --format {fmt}", ["show", "plan.json", "--format", fmt], None, 0)
        session.run("plan -v", ["-v", "plan", "manifests"], url, 0)  # request lines on stderr
        session.run("apply --plan", ["apply", "--plan", "plan.json", "--yes"], url, any_code)
        session.run("apply", ["apply", "manifests", "--yes", "--format", "json"], url, any_code)
        # A header edited in the portal: its value is no secret of ours and still must not be shown.
        tools = [t for t in sdk.ai.tools.list().data if t.display_name == "lookup-order"]
        for tool in tools:
            sdk.ai.tools.update(tool.id, webhook={"name": "lookup_order", "description": "Look up an order.",
                                                  "url": "https://api.example/orders", "method": "POST",
                                                  "headers": [{"name": "Authorization", "value": "portal-value-1f"}]})
        for fmt in ("text", "markdown", "json"):
            session.run(f"drift --format {fmt}", ["drift", "manifests", "--format", fmt], url, any_code)
            session.run(f"plan after edit --format {fmt}", ["plan", "manifests", "--format", fmt], url, any_code)
        server.store.run_control.set({"run_seconds": 0.05})
        for fmt in ("text", "markdown", "json", "junit"):
            session.run(f"test --format {fmt}", ["test", "manifests", "--format", fmt, "--junit", f"junit-{fmt}.xml"],
                        url, any_code)
        session.run("rollback", ["rollback", "Assistant/triage", "--previous", "--yes"], url, any_code)
        session.run("export", ["export", "--out", "exported"], url, any_code)
        imported = ["import", "vapi", "--api-key-ref", "vapi-key-ref", "--out", "imported"]
        session.run("import without --yes", imported, url, 1)
        session.run("import", [*imported, "--yes", "--adopt"], url, 0)
        session.run("import over managed assistants", [*imported, "--yes"], url, 1)
        session.run("schema", ["schema"], None, 0)
        session.run("schema Tool", ["schema", "Tool"], None, 0)
        session.run("schema of an unknown kind", ["schema", "Secret"], None, 1)
        session.emulator_process(workdir / "emulator" / "state.json")
        session.run("apply refused", ["apply", "refused", "--yes"], url, 1)
        for command in (["validate", "invalid"], ["plan", "invalid"], ["apply", "invalid", "--yes"]):
            session.run(" ".join(command), command, url, 1)
        session.run("unknown flag", ["plan", "manifests", "--api-key", KEY, "--bogus"], url, 1)
        session.run("missing path", ["drift", "nope", "--api-key", KEY], url, 1)
        with EmulatorServer(api_key="some-other-key-0000") as refusing:
            session.run("key refused", ["plan", "manifests"], refusing.base_url, 1)
        for mode in ("echo-auth-json-401", "echo-auth-urlencoded", "echo-auth-html-500"):
            with HostileServer(mode) as hostile:
                session.run(f"echo {mode}", ["plan", "manifests"], hostile.base_url, 1)
                session.run(f"echo {mode} export", ["export", "--out", "echoed"], hostile.base_url, 1)
                session.run(f"echo {mode} import", [*imported, "--yes"], hostile.base_url, 1)
    everything = {"api key": KEY, "portal header": "portal-value-1f", **TRICKY}
    found = [leak for where, text in session.outputs for leak in leaks(where, text, everything)]
    for path in sorted(p for p in workdir.rglob("*") if p.is_file()):
        if path.parent.name in ("manifests", "refused", "invalid") or path.name == "secrets.txt":
            continue  # the user's manifests hold references; secrets.txt lists variable names
        if path.parent.name == "assistant-tests" and path.parent.parent.name == "exported":
            # A secret interpolated into a test's free text is plain text in the account: export writes
            # what is live and cannot tell it from any other words (as for an assistant's instructions).
            continue
        found += leaks(str(path.relative_to(workdir)), path.read_bytes(), everything)
    if found:
        pytest.fail("secret values leaked: " + "; ".join(found), pytrace=False)
    assert sorted(set(main.commands) - session.commands) == [], "commands the sweep does not run"


class TestEchoingServers:
    """A server whose error repeats the Authorization header, in JSON, HTML or URL-encoded."""

    @pytest.mark.parametrize(("mode", "shown"), [
        ("echo-auth-json-401", "GET /ai/assistants failed with HTTP 401: invalid key in Bearer (sensitive)"),
        ("echo-auth-json-500", "GET /ai/assistants failed with HTTP 500: crashed handling Bearer (sensitive)"),
        ("echo-auth-urlencoded", "GET /ai/assistants failed with HTTP 401: see /login?h=Bearer%20(sensitive)"),
        ("echo-auth-html-500", "GET /ai/assistants failed with HTTP 500: <html><body><h1>500</h1>"
                               "<pre>Authorization: Bearer (sensitive)</pre></body></html>"),
    ])
    def test_the_key_is_masked_in_the_error(self, mode: str, shown: str) -> None:
        with HostileServer(mode) as server:
            result = run_cli(["plan", str(QUICKSTART)], env={"TELNYX_BASE_URL": server.base_url,
                                                            "TELNYX_API_KEY": "plainkey-7a9c01"})
        assert result.exit_code == 1
        assert result.stderr == f"Error: {shown}\n"

    def test_a_base_url_password_is_never_printed(self) -> None:
        result = run_cli(["plan", str(QUICKSTART), "--deadline", "1"],
                         env={"TELNYX_BASE_URL": "http://admin:pa55word-x1@127.0.0.1:9/v2",
                              "TELNYX_API_KEY": "plainkey-7a9c01"})
        assert result.exit_code == 1
        assert "pa55word-x1" not in result.output
        assert result.stderr.startswith("Error: GET /ai/assistants: ")
        assert "admin" not in result.stderr


class TestMaskingRules:
    def test_a_secret_inside_a_word_is_left_alone(self) -> None:
        assert mask_text("Tool/lookup-order uses look and lookup", {"look"}) == (
            f"Tool/lookup-order uses {MASK} and lookup"
        )

    def test_a_long_secret_glued_to_other_text_is_masked(self) -> None:
        """Only short secrets need whole-word matching; a long one inside a token is still a leak."""
        assert mask_text("auth sk_s3cr3tValue and s3cr3tValue_v2", {"s3cr3tValue"}) == f"auth sk_{MASK} and {MASK}_v2"

    def test_a_list_or_object_under_a_secret_named_key_is_masked_whole(self) -> None:
        assert mask_fields({"api_key": ["k1longvalue"], "credentials": {"pass": "p4ssword"}, "name": "x"}) == {
            "api_key": MASK, "credentials": MASK, "name": "x"}

    def test_every_encoding_is_masked(self) -> None:
        secret = "a\tb\"c\\d-é"
        text = " | ".join(forms(secret).values())
        assert mask_text(text, {secret}) == " | ".join([MASK] * len(forms(secret)))

    def test_url_userinfo_is_masked_without_knowing_it(self) -> None:
        assert mask_text("cannot reach https://u:p@host/v2", set()) == f"cannot reach https://{MASK}@host/v2"

    def test_header_values_and_secret_named_fields_are_masked_by_field(self) -> None:
        tool = {"webhook": {"headers": [{"name": "X-Source", "value": "voice-agent"}], "url": "https://x"},
                "sip_auth_password": "pw", "api_key_ref": "ref-1", "max_tokens": 5,
                "dynamic_variables": {"crm_token": "t", "company": "Acme"}}
        assert mask_fields(tool) == {
            "webhook": {"headers": [{"name": "X-Source", "value": MASK}], "url": "https://x"},
            "sip_auth_password": MASK, "api_key_ref": "ref-1", "max_tokens": 5,
            "dynamic_variables": {"crm_token": MASK, "company": "Acme"},
        }
        assert mask_fields("voice-agent", ("webhook", "headers", 0, "value")) == MASK


@pytest.mark.parametrize("secret", ["a", "ab", "a\tb"])
def test_a_secret_too_short_to_mask_is_refused(secret: str, workdir: Path) -> None:
    result = run_cli(["validate", "manifests"], env={**TRICKY, "DYNVAR": secret})
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        "manifests/all.yaml:32: Assistant/triage: spec.dynamic_variables.crm_token: secret DYNVAR is shorter than "
        "4 characters: too short to mask safely in output (needed by '${secret:DYNVAR}')\n"
    )


@pytest.mark.parametrize("key", ["k", "ab", "é"])
def test_an_api_key_too_short_to_mask_is_refused(key: str) -> None:
    result = run_cli(["plan", str(QUICKSTART)], env={"TELNYX_BASE_URL": "http://127.0.0.1:9/v2",
                                                     "TELNYX_API_KEY": key})
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: the API key is too short to mask safely in output; check --api-key / TELNYX_API_KEY\n"
    )


def test_export_keeps_a_literal_header_and_makes_a_credential_a_secret(tmp_path: Path, emulator: object,
                                                                        sdk: telnyx.Telnyx) -> None:
    sdk.ai.tools.create(display_name="lookup", type="webhook", webhook={
        "name": "lookup", "description": "Look up.", "url": "https://x.example",
        "headers": [{"name": "X-Source", "value": "voice-agent"}, {"name": "X-Api-Key", "value": "k-123456"}]})
    result = run_cli(["export", "--out", str(tmp_path / "out")], emulator.base_url)  # type: ignore[attr-defined]
    assert result.exit_code == 0, result.output
    text = (tmp_path / "out" / "tools" / "lookup.yaml").read_text()
    assert "value: voice-agent" in text
    assert "value: ${secret:LOOKUP_X_API_KEY}" in text
    assert "k-123456" not in text
