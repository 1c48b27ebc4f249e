"""Environments: var files, ``${var:NAME}``, name prefixes, and one manifest set applied to two accounts.

The end-to-end test runs two emulators (staging and production), plans and applies the example in
examples/environments with the library, and reads both accounts back with the official SDK.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import telnyx

from reconciler.api.client import TelnyxClient
from reconciler.emulator import EmulatorServer
from reconciler.engine.apply import apply_plan
from reconciler.engine.live import fetch_live
from reconciler.engine.plan import Plan, build_plan
from reconciler.errors import ManifestErrors
from reconciler.manifests.environment import Environment, load_environment
from reconciler.manifests.interpolate import interpolate
from reconciler.manifests.loader import load_resources
from reconciler.model import Resource
from reconciler.planfile import manifest_digests
from tests.conftest import TEST_API_KEY
from tests.helpers import REPO

DATA = Path(__file__).parent / "data" / "env"
EXAMPLE = REPO / "examples" / "environments"

ASSISTANT = """\
apiVersion: reconciler/v1
kind: Assistant
name: {name}
spec:
{spec}"""


def write(directory: Path, name: str, text: str) -> str:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def assistant(directory: Path, spec: str, name: str = "triage", file: str = "a.yaml") -> str:
    return write(directory, file, ASSISTANT.format(name=name, spec=spec))


def env_problems(paths: list[str]) -> list[str]:
    with pytest.raises(ManifestErrors) as caught:
        load_environment(paths)
    return [str(p) for p in caught.value.problems]


def load_problems(
    paths: list[str], environment: Environment | None, environ: dict[str, str] | None = None
) -> list[str]:
    with pytest.raises(ManifestErrors) as caught:
        load_resources(paths, environ or {}, environment=environment)
    return [str(p) for p in caught.value.problems]


def by_name(resources: list[Resource]) -> dict[str, Resource]:
    return {r.name: r for r in resources}


class TestVarFiles:
    def test_later_files_override_earlier_ones_and_keep_their_types(self) -> None:
        base, override = str(DATA / "base.yaml"), str(DATA / "override.yaml")
        env = load_environment([base, override])
        assert dict(env.variables) == {
            "COMPANY": "Acme", "TIME_LIMIT": 1200, "RATIO": 0.5, "RECORD": False,
            "VOICE": "Telnyx.KokoroTTS.af_heart",
        }
        assert (env.name_prefix, env.files) == ("stg-", (base, override))
        assert load_environment([override, base]).variables["TIME_LIMIT"] == 600

    def test_a_later_prefix_replaces_the_earlier_one_and_an_empty_one_clears_it(self, tmp_path: Path) -> None:
        prod = write(tmp_path, "prod.yaml", "name_prefix: prod-\n")
        none = write(tmp_path, "none.yaml", "name_prefix: ''\nvars: {}\n")
        base = str(DATA / "base.yaml")
        assert load_environment([base, prod]).name_prefix == "prod-"
        assert load_environment([base, prod, none]).name_prefix == ""
        assert load_environment([]) == Environment({}, "", ())

    def test_every_problem_of_every_file_names_file_line_and_key(self) -> None:
        bad, broken, missing = (str(DATA / n) for n in ("bad.yaml", "broken.yaml", "missing.yaml"))
        allowed = "letters, digits, '.', '_' and '-', starting with a letter or digit, at most 32 characters"
        scalar = "a variable is text, a number or true/false"
        assert env_problems([bad, broken, missing]) == [
            f"{bad}:1: name_prefix: 'stg prod/' is not allowed: use {allowed}",
            f"{bad}:2: var: unknown key 'var' (did you mean 'vars'?); a var file holds only 'name_prefix' and 'vars'",
            f"{bad}:5: vars.2FAST: variable name '2FAST' is not allowed: start with a letter or '_', then letters, "
            "digits, '_'",
            f"{bad}:6: vars.LIST: LIST is a list; {scalar}",
            f"{bad}:7: vars.EMPTY: EMPTY is empty (null); {scalar} (write '' for empty text)",
            f"{bad}:8: vars.NESTED: NESTED is a mapping; {scalar}",
            f"{broken}:3: vars: duplicate key 'A' (first set on line 2)",
            f"{missing}:0: cannot read var file: No such file or directory",
        ]

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("", "1: empty var file; write at least 'vars: {}'"),
            ("- a\n- b\n", "1: a var file must be a mapping with 'vars' and optionally 'name_prefix'"),
            ("vars: {A: 1}\n---\nvars: {B: 2}\n",
             "3: a var file holds one document; merge them or pass several var files"),
            ("vars: [A, B]\n", "1: vars: vars must be a mapping of NAME: value, not a list"),
            ("name_prefix: 7\n", "1: name_prefix: name_prefix must be text (letters, digits, '.', '_' and '-', "
             "starting with a letter or digit, at most 32 characters), not '7'"),
            (f"name_prefix: {'x' * 33}\n", f"1: name_prefix: '{'x' * 33}' is not allowed: use letters, digits, "
             "'.', '_' and '-', starting with a letter or digit, at most 32 characters"),
            ("vars:\n  A: 1\n  B: [\n", "4: invalid YAML: expected the node content, but found "
             "'<stream end>'"),
        ],
    )
    def test_malformed_var_files(self, tmp_path: Path, text: str, expected: str) -> None:
        path = write(tmp_path, "env.yaml", text)
        assert env_problems([path]) == [f"{path}:{expected}"]


class TestVarInterpolation:
    ENV = Environment({"TIME_LIMIT": 1200, "RATIO": 0.5, "RECORD": True, "CODE": "007", "HOST": "api.example"},
                      "", ("env/test.yaml",))

    def expand(self, value: Any, environ: dict[str, str] | None = None) -> Any:
        result = interpolate(value, environ or {}, variables=self.ENV.variables, var_files=self.ENV.files)
        assert result.problems == []
        return result.value

    def test_a_whole_value_reference_keeps_the_type_of_a_number_or_boolean(self) -> None:
        assert self.expand(["${var:TIME_LIMIT}", "${var:RATIO}", "${var:RECORD}", "${var:CODE}"]) == [
            1200, 0.5, True, "007"]

    def test_an_embedded_reference_is_formatted_as_text(self) -> None:
        assert self.expand("${var:TIME_LIMIT}s, ${var:RATIO}, ${var:RECORD} at https://${var:HOST}/x") == (
            "1200s, 0.5, true at https://api.example/x")
        assert self.expand(" ${var:TIME_LIMIT}") == " 1200"

    def test_env_and_secret_stay_text_even_as_the_whole_value(self) -> None:
        assert self.expand(["${env:T}", "${secret:T}"], {"T": "1200"}) == ["1200", "1200"]

    def test_a_var_value_is_literal_text_and_the_template_holds_it_escaped(self) -> None:
        env = {"V": "${env:SECRET_ONE}"}
        result = interpolate({"a": "x ${var:V} ${env:E} $${y}", "n": "${var:N}"}, {"E": "e"},
                             variables={**env, "N": 3}, var_files=("v.yaml",))
        assert result.value == {"a": "x ${env:SECRET_ONE} e ${y}", "n": 3}
        assert result.template == {"a": "x $${env:SECRET_ONE} ${env:E} $${y}", "n": 3}
        again = interpolate(result.template, {"E": "e"})
        assert (again.value, again.problems) == (result.value, [])

    def test_the_template_and_so_the_saved_plan_digest_follow_the_var_values(self, tmp_path: Path) -> None:
        path = assistant(tmp_path, "  instructions: Hi from ${var:COMPANY} and ${env:WHO}\n")
        loads = [load_resources([path], {"WHO": w}, environment=Environment({"COMPANY": c}, "", ()))
                 for c, w in (("Acme", "a"), ("Acme", "b"), ("Globex", "a"))]
        assert loads[0][0].template == {"instructions": "Hi from Acme and ${env:WHO}"}
        digests = [manifest_digests(resources) for resources in loads]
        assert digests[0] == digests[1] != digests[2]

    def test_typed_whole_values_pass_the_integer_schema(self, tmp_path: Path) -> None:
        spec = "  instructions: Hi\n  telephony_settings:\n    time_limit_secs: ${var:TIME_LIMIT}\n"
        path = assistant(tmp_path, spec)
        [triage] = load_resources([path], {}, environment=self.ENV)
        assert triage.spec["telephony_settings"] == {"time_limit_secs": 1200}
        as_env = path.replace("a.yaml", "b.yaml")
        Path(as_env).write_text(Path(path).read_text().replace("${var:", "${env:"))
        assert load_problems([as_env], None, {"TIME_LIMIT": "1200"}) == [
            f"{as_env}:7: Assistant/triage: spec.telephony_settings.time_limit_secs: '1200' is not of type 'integer'"]

    def test_a_missing_var_names_file_line_object_field_and_the_var_files_read(self, tmp_path: Path) -> None:
        path = assistant(tmp_path, "  instructions: Hi\n  greeting: Welcome to ${var:COMPANY}\n")
        files = ("env/base.yaml", "env/prod.yaml")
        assert load_problems([path], Environment({}, "", files)) == [
            f"{path}:6: Assistant/triage: spec.greeting: variable COMPANY is not defined in the var files read "
            "(env/base.yaml, env/prod.yaml) (needed by '${var:COMPANY}')"]
        nothing_read = (
            f"{path}:6: Assistant/triage: spec.greeting: variable COMPANY is not defined: no var file was read "
            "(pass --var-file FILE) (needed by '${var:COMPANY}')")
        assert load_problems([path], None) == [nothing_read]
        assert load_problems([path], Environment()) == [nothing_read]

    def test_an_unknown_form_lists_var_once_a_var_file_is_given(self, tmp_path: Path) -> None:
        path = assistant(tmp_path, "  instructions: ${vault:X} ${var:}\n")
        head = f"{path}:5: Assistant/triage: spec.instructions:"
        assert load_problems([path], self.ENV) == [
            f"{head} malformed reference '${{var:}}': expected ${{env:NAME}}, ${{secret:NAME}} or ${{var:NAME}}",
            f"{head} unknown reference '${{vault:X}}': only ${{env:NAME}}, ${{secret:NAME}} and ${{var:NAME}} are "
            "supported",
        ]
        assert load_problems([path], None) == [
            f"{head} malformed reference '${{var:}}': expected ${{env:NAME}} or ${{secret:NAME}}",
            f"{head} unknown reference '${{vault:X}}': only ${{env:NAME}} and ${{secret:NAME}} are supported",
        ]

    def test_names_are_never_interpolated(self, tmp_path: Path) -> None:
        path = assistant(tmp_path, "  instructions: Hi\n", name="${var:NAME}")
        assert load_problems([path], Environment({"NAME": "x"}, "", ())) == [
            f"{path}:3: Assistant/${{var:NAME}}: name: name cannot use ${{...}}: "
            "interpolation happens only inside spec"]


class TestNamePrefix:
    def test_every_name_and_every_reference_form_gets_the_prefix(self) -> None:
        env = Environment({}, "stg-", ())
        found = by_name(load_resources([DATA / "every-reference"], {}, environment=env))
        assert sorted(found) == [
            "stg-billing", "stg-crm", "stg-lookup-order", "stg-support-triage", "stg-triage-canary"]
        triage = found["stg-support-triage"].spec
        assert triage["shared_tools"] == ["stg-lookup-order"]
        assert triage["tool_ids"] == ["tool-unmanaged-1"]  # a raw id is no reference
        assert triage["mcp_servers"] == [{"server": "stg-crm", "allowed_tools": ["get_customer"]}]
        assert triage["tools"][0]["handoff"]["ai_assistants"] == [{"assistant": "stg-billing"}]
        flow = triage["conversation_flow"]
        assert flow["nodes"][0]["shared_tools"] == ["stg-lookup-order"]
        assert flow["nodes"][1]["shared_tool"] == "stg-lookup-order"
        assert flow["nodes"][2]["shared_tool_id"] == "tool-unmanaged-1"
        assert flow["edges"][0]["target"] == {"type": "assistant", "assistant": "stg-billing"}
        billing = found["stg-billing"].spec
        assert billing["tools"][0]["handoff"]["ai_assistants"] == [{"assistant": "stg-support-triage"}]
        canary = found["stg-triage-canary"].spec
        assert canary["assistant"] == "stg-support-triage"
        # Candidate version names are the canary's own: not prefixed, in versions or in rules.
        assert list(canary["versions"]) == ["concise"]
        assert canary["versions"]["concise"]["shared_tools"] == ["stg-lookup-order"]
        assert canary["versions"]["concise"]["tools"][0]["handoff"]["ai_assistants"] == [{"assistant": "stg-billing"}]
        assert canary["rules"] == [{"serve": {"rollout": [{"version": "concise", "weight": 10}]}}]
        assert found["stg-support-triage"].template == triage
        assert found["stg-support-triage"].address == "Assistant/stg-support-triage"

    def test_no_prefix_leaves_every_name_as_written(self) -> None:
        plain = load_resources([DATA / "every-reference"], {})
        assert load_resources([DATA / "every-reference"], {}, environment=Environment()) == plain
        assert sorted(r.name for r in plain) == ["billing", "crm", "lookup-order", "support-triage", "triage-canary"]

    def test_a_reference_through_env_is_prefixed_in_value_and_template(self, tmp_path: Path) -> None:
        write(tmp_path, "tool.yaml", "apiVersion: reconciler/v1\nkind: Tool\nname: lookup\nspec:\n  type: webhook\n"
              "  webhook: {name: lookup, description: Look up., url: 'https://x.example'}\n")
        assistant(tmp_path, "  instructions: Hi\n  shared_tools: ['${env:TOOL}']\n")
        [triage] = [r for r in load_resources([tmp_path], {"TOOL": "lookup"}, environment=Environment({}, "qa-", ()))
                    if r.kind == "Assistant"]
        assert (triage.name, triage.spec["shared_tools"], triage.template["shared_tools"]) == (
            "qa-triage", ["qa-lookup"], ["qa-${env:TOOL}"])

    def test_problems_quote_the_names_written_in_the_manifests(self, tmp_path: Path) -> None:
        first = assistant(tmp_path, "  instructions: Hi\n  shared_tools: [lookup-ordr]\n")
        second = assistant(tmp_path, "  instructions: Hi again\n", file="b.yaml")
        write(tmp_path, "t.yaml", "apiVersion: reconciler/v1\nkind: Tool\nname: lookup-order\nspec:\n"
                     "  type: webhook\n  webhook: {name: lookup, description: Look up., url: 'https://x.example'}\n")
        assert load_problems([str(tmp_path)], Environment({}, "stg-", ())) == [
            f"{first}:6: Assistant/triage: spec.shared_tools[0]: no Tool named 'lookup-ordr' in the manifests "
            "(did you mean 'lookup-order'?)",
            f"{second}:1: Assistant/triage: $: Assistant/triage is defined twice: here and at {first}:1",
        ]


def plan_for(server: EmulatorServer, environment: Environment) -> tuple[list[Resource], Plan, TelnyxClient]:
    resources = load_resources([EXAMPLE / "manifests"], {}, environment=environment)
    client = TelnyxClient(server.base_url, TEST_API_KEY)
    return resources, build_plan(resources, fetch_live(client, resources)), client


def read_back(server: EmulatorServer) -> dict[str, Any]:
    """What an account holds, read with the official SDK (strict response validation)."""
    with telnyx.Telnyx(api_key=TEST_API_KEY, base_url=server.base_url, max_retries=0,
                       _strict_response_validation=True) as sdk:
        assistants = {a.name: a for a in sdk.ai.assistants.list().data}
        tools = {t.display_name: t for t in sdk.ai.tools.list()}
        servers = {m.name: m for m in sdk.ai.mcp_servers.list()}
        triage = next(a for name, a in assistants.items() if name.endswith("support-triage"))
        canary = sdk.ai.assistants.canary_deploys.retrieve(triage.id)
        versions = sdk.ai.assistants.versions.list(triage.id).data
    return {"assistants": assistants, "tools": tools, "servers": servers, "canary": canary, "versions": versions}


class TestTwoAccounts:
    def test_one_manifest_set_applied_to_staging_and_production(self) -> None:
        staging_env = load_environment([EXAMPLE / "env" / "staging.yaml"])
        production_env = load_environment([EXAMPLE / "env" / "production.yaml"])
        with EmulatorServer(api_key=TEST_API_KEY) as staging, EmulatorServer(api_key=TEST_API_KEY) as production:
            for server, env in ((staging, staging_env), (production, production_env)):
                _, plan, client = plan_for(server, env)
                with client:
                    creates = sorted(c.address for c in plan.changes if c.action.value == "create")
                    p = env.name_prefix
                    assert creates == [
                        f"Assistant/{p}billing", f"Assistant/{p}support-triage",
                        f"AssistantVersion/{p}support-triage@concise-prompt",
                        f"CanaryDeploy/{p}triage-concise-prompt", f"McpServer/{p}crm", f"Tool/{p}lookup-order",
                    ]
                    result = apply_plan(client, plan)
                    assert result.ok, [o.message for o in result.outcomes]

            for server, env in ((staging, staging_env), (production, production_env)):
                _, again, client = plan_for(server, env)
                with client:
                    assert again.changes == ()
                    assert len(again.unchanged) == 5

            stg, prod = read_back(staging), read_back(production)

        assert sorted(stg["assistants"]) == ["stg-billing", "stg-support-triage"]
        assert sorted(prod["assistants"]) == ["prod-billing", "prod-support-triage"]
        assert (list(stg["tools"]), list(stg["servers"])) == (["stg-lookup-order"], ["stg-crm"])
        assert (list(prod["tools"]), list(prod["servers"])) == (["prod-lookup-order"], ["prod-crm"])

        for account, prefix, company, voice, limit, weight, tag in (
            (stg, "stg-", "Acme Outdoor (staging)", "Telnyx.KokoroTTS.af_bella", 600, 50, "staging"),
            (prod, "prod-", "Acme Outdoor", "Telnyx.KokoroTTS.af_heart", 1200, 10, "tier-1"),
        ):
            triage = account["assistants"][f"{prefix}support-triage"]
            billing = account["assistants"][f"{prefix}billing"]
            assert triage.greeting == f"Thanks for calling {company} support. What can I help you with?"
            assert triage.voice_settings.voice == voice
            assert billing.voice_settings.voice == voice
            assert triage.telephony_settings.time_limit_secs == limit
            assert sorted(triage.tags) == sorted(["support", tag])
            [handoff] = [t for t in triage.tools if t.type == "handoff"]
            assert [(a.id, a.name) for a in handoff.handoff.ai_assistants] == [(billing.id, f"{prefix}billing")]
            [back] = [t for t in billing.tools if t.type == "handoff"]
            assert [(a.id, a.name) for a in back.handoff.ai_assistants] == [(triage.id, f"{prefix}support-triage")]
            crm = account["servers"][f"{prefix}crm"]
            assert [m.id for m in triage.mcp_servers] == [crm.id]
            [candidate] = [v for v in account["versions"] if v.version_name == "concise-prompt"]
            assert candidate.instructions.startswith(f"You route calls on the {company} support line.")
            [rule] = account["canary"].rules
            assert [(s.version_id, s.weight) for s in rule.serve.rollout] == [(candidate.version_id, weight)]

        stg_tool, prod_tool = stg["tools"]["stg-lookup-order"], prod["tools"]["prod-lookup-order"]
        assert stg_tool.tool_definition["url"] == "https://sandbox.acme-outdoor.example/orders/{order_id}"
        assert prod_tool.tool_definition["url"] == "https://api.acme-outdoor.example/orders/{order_id}"
        assert (stg_tool.timeout_ms, prod_tool.timeout_ms) == (8000, 5000)
