"""POST /ai/assistants/import in the emulator, driven by the official SDK with strict response validation.

The fixture catalogs stand in for the providers' accounts; these tests pin which agents each holds, how
imports and re-imports land, and the refusals.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import telnyx

from reconciler.api.api_schema import validate_request
from reconciler.emulator import EmulatorServer
from reconciler.emulator.imports import FIXTURES, PROVIDERS, catalog
from tests.conftest import AUTH, body, payload

EXPECTED: dict[str, dict[str, str]] = {
    "elevenlabs": {
        "agent_01jx7k2m9d4f6h8p3q5r7t9v2w": "Maple Dental - Front Desk",
        "agent_01jx7m4c8e2g5j7k9n1p3s6u8y": "Northwind Energy - Outage Line",
        "agent_01jx7q6f3h5k8m2p4r6t9w1z3b": "Lumen Books - Order Support",
    },
    "vapi": {
        "3f9c2a71-5d84-4b6e-9a13-c07e8d2f4b15": "Riverside Realty Lead Qualifier",
        "8b41d0e6-2c37-4f9a-b5e8-61a9f3c72d04": "Apex Fitness Membership Desk",
        "c5e07b93-91fa-4d2c-8e64-0b7a52f1d8c9": "Harbor Clinic After-Hours Triage",
    },
    "retell": {
        "agent_4f2b9d61c8e07a35b1d9e2c6": "Summit Auto Service Scheduler",
        "agent_9a7e3c15f04d82b6e1c5a7d3": "Crestline Insurance Claims Intake",
    },
}
VERSION_NAMES = {
    "elevenlabs": "Imported from ElevenLabs",
    "vapi": "Imported from Vapi",
    "retell": "Imported from Retell",
}
MAPLE = "agent_01jx7k2m9d4f6h8p3q5r7t9v2w"
LUMEN = "agent_01jx7q6f3h5k8m2p4r6t9w1z3b"
APEX = "8b41d0e6-2c37-4f9a-b5e8-61a9f3c72d04"
SERVER_OWNED = {"id", "created_at", "import_metadata", "version_id", "version_name", "version_created_at"}




def post_import(emulator: EmulatorServer, request: Any) -> httpx.Response:
    return httpx.post(f"{emulator.base_url}/ai/assistants/import", json=request, headers=AUTH)


def read_tool(tool: dict[str, Any]) -> dict[str, Any]:
    """An inline tool as reads show it: `shared: false`, a webhook's default method, a transfer's `from`."""
    shown = json.loads(json.dumps(tool))
    shown["shared"] = False
    if tool["type"] == "webhook":
        shown["webhook"].setdefault("method", "POST")
    if tool["type"] == "transfer":
        shown["transfer"].setdefault("from", "")
    return dict(shown)


def import_raw(sdk: telnyx.Telnyx, provider: Any, **kwargs: Any) -> list[dict[str, Any]]:
    """The import answer as JSON (parsed strictly by the SDK first)."""
    response = sdk.ai.assistants.with_raw_response.imports(provider=provider, api_key_ref="provider_key", **kwargs)
    response.parse()
    data: list[dict[str, Any]] = payload(response)["data"]
    return data


class TestFixtures:
    def test_catalog_files_hold_the_expected_agents(self) -> None:
        assert sorted(p.name for p in FIXTURES.glob("import_*.json")) == [
            "import_elevenlabs.json",
            "import_retell.json",
            "import_vapi.json",
        ]
        for provider in PROVIDERS:
            document = json.loads(Path(FIXTURES / f"import_{provider}.json").read_text(encoding="utf-8"))
            assert document["provider"] == provider
            assert {i: a["name"] for i, a in catalog(provider)} == EXPECTED[provider]

    @pytest.mark.parametrize("provider", PROVIDERS)
    def test_every_agent_is_a_valid_create_body(self, provider: str) -> None:
        for import_id, agent in catalog(provider):
            assert validate_request("CreateAssistantRequest", agent) == [], import_id
            assert not SERVER_OWNED & set(agent), import_id

    def test_elevenlabs_voices_use_the_telnyx_elevenlabs_form_with_a_key_ref(self) -> None:
        for _, agent in catalog("elevenlabs"):
            voice = agent["voice_settings"]
            assert voice["voice"].split(".")[0] == "ElevenLabs"
            assert len(voice["voice"].split(".")) == 3
            assert voice["api_key_ref"] == "elevenlabs_api_key"

    def test_each_agent_carries_realistic_detail(self) -> None:
        for provider in PROVIDERS:
            for import_id, agent in catalog(provider):
                assert agent["instructions"].count("\n\n") >= 2, import_id  # a few paragraphs
                assert {"greeting", "voice_settings", "transcription", "tools"} <= set(agent), import_id
                kinds = [t["type"] for t in agent["tools"]]
                assert "webhook" in kinds and "hangup" in kinds, import_id
                webhook = next(t["webhook"] for t in agent["tools"] if t["type"] == "webhook")
                assert webhook["headers"], import_id


class TestImport:
    @pytest.mark.parametrize("provider", PROVIDERS)
    def test_import_all_creates_one_assistant_per_agent(self, sdk: telnyx.Telnyx, provider: Any) -> None:
        imported = sdk.ai.assistants.imports(provider=provider, api_key_ref="provider_key")
        assert [(a.import_metadata.import_id, a.name) for a in imported.data if a.import_metadata] == list(
            EXPECTED[provider].items()
        )
        assert {a.import_metadata.import_provider for a in imported.data if a.import_metadata} == {provider}
        assert {a.version_name for a in imported.data} == {VERSION_NAMES[provider]}
        assert len({a.id for a in imported.data}) == len(EXPECTED[provider])

    @pytest.mark.parametrize("provider", PROVIDERS)
    def test_imported_assistant_is_the_fixture_plus_server_fields(self, sdk: telnyx.Telnyx, provider: Any) -> None:
        by_id = dict(catalog(provider))
        for item in import_raw(sdk, provider):
            import_id = item["import_metadata"]["import_id"]
            assert item["import_metadata"] == {"import_id": import_id, "import_provider": provider}
            fixture = by_id[import_id]
            texml_app_id = item["telephony_settings"]["default_texml_app_id"]
            profile_id = item["messaging_settings"]["default_messaging_profile_id"]
            expected = {
                **fixture,
                "tools": [read_tool(t) for t in fixture["tools"]],
                "telephony_settings": {**fixture.get("telephony_settings", {}), "default_texml_app_id": texml_app_id},
                "messaging_settings": {"default_messaging_profile_id": profile_id},
            }
            assert {k: v for k, v in item.items() if k not in SERVER_OWNED} == expected, import_id
            assert texml_app_id.isdigit() and profile_id

    def test_greeting_modes_survive_import(self, sdk: telnyx.Telnyx) -> None:
        """Vapi's 'model speaks first' and 'wait for the user' modes map onto Telnyx greeting values."""
        greetings = {i["name"]: i["greeting"] for i in import_raw(sdk, "vapi")}
        assert greetings["Riverside Realty Lead Qualifier"] == "<assistant-speaks-first-with-model-generated-message>"
        assert greetings["Apex Fitness Membership Desk"] == ""

    def test_imported_assistants_are_listed_and_retrieved_like_others(self, sdk: telnyx.Telnyx) -> None:
        own = sdk.ai.assistants.create(name="hand-made", instructions="Be brief.")
        imported = sdk.ai.assistants.imports(provider="retell", api_key_ref="provider_key")
        listed = sdk.ai.assistants.list().data
        assert [a.name for a in listed] == ["hand-made", *EXPECTED["retell"].values()]
        assert listed[0].id == own.id and listed[0].import_metadata is None
        fetched = sdk.ai.assistants.retrieve(imported.data[0].id)
        assert fetched.import_metadata is not None
        assert fetched.import_metadata.import_id == "agent_4f2b9d61c8e07a35b1d9e2c6"

    def test_import_ids_select_agents_in_request_order(self, sdk: telnyx.Telnyx) -> None:
        imported = sdk.ai.assistants.imports(provider="elevenlabs", api_key_ref="k", import_ids=[LUMEN, MAPLE, LUMEN])
        assert [a.name for a in imported.data] == ["Lumen Books - Order Support", "Maple Dental - Front Desk"]
        assert [a.name for a in sdk.ai.assistants.list().data] == [a.name for a in imported.data]

    def test_empty_import_ids_import_nothing(self, sdk: telnyx.Telnyx) -> None:
        assert sdk.ai.assistants.imports(provider="vapi", api_key_ref="k", import_ids=[]).data == []
        assert sdk.ai.assistants.list().data == []

    def test_same_id_under_another_provider_is_unknown(self, sdk: telnyx.Telnyx) -> None:
        with pytest.raises(telnyx.BadRequestError):
            sdk.ai.assistants.imports(provider="retell", api_key_ref="k", import_ids=[MAPLE])

    def test_import_metadata_in_create_and_update_bodies_is_ignored(self, sdk: telnyx.Telnyx) -> None:
        fake = {"import_id": MAPLE, "import_provider": "elevenlabs"}
        created = sdk.ai.assistants.create(name="n", instructions="i", extra_body={"import_metadata": fake})
        assert created.import_metadata is None
        updated = sdk.ai.assistants.update(created.id, greeting="hi", extra_body={"import_metadata": fake})
        assert updated.import_metadata is None
        # ...so importing the agent it claimed to be still creates a fresh assistant
        imported = sdk.ai.assistants.imports(provider="elevenlabs", api_key_ref="k", import_ids=[MAPLE])
        assert imported.data[0].id != created.id
        real = sdk.ai.assistants.update(imported.data[0].id, extra_body={"import_metadata": None})
        assert real.import_metadata is not None and real.import_metadata.import_id == MAPLE

    def test_idempotency_key_replays_the_first_import(self, sdk: telnyx.Telnyx) -> None:
        first = sdk.ai.assistants.imports(provider="retell", api_key_ref="k", idempotency_key="imp-1")
        again = sdk.ai.assistants.imports(provider="retell", api_key_ref="k", idempotency_key="imp-1")
        assert again.to_dict() == first.to_dict()
        assert len(sdk.ai.assistants.versions.list(first.data[0].id).data) == 1


class TestReimport:
    def test_reimport_overwrites_in_place_as_a_new_main_version(self, sdk: telnyx.Telnyx) -> None:
        first = {a.name: a for a in sdk.ai.assistants.imports(provider="vapi", api_key_ref="k").data}
        apex = first["Apex Fitness Membership Desk"]
        edited = sdk.ai.assistants.update(
            apex.id, instructions="Hand edited.", tags=["managed"], dynamic_variables={"member_id": "42"}
        )
        assert edited.instructions == "Hand edited."

        again = {a.name: a for a in sdk.ai.assistants.imports(provider="vapi", api_key_ref="k").data}
        assert {n: a.id for n, a in again.items()} == {n: a.id for n, a in first.items()}
        fresh = again["Apex Fitness Membership Desk"]
        fixture = dict(catalog("vapi"))[APEX]
        assert fresh.instructions == fixture["instructions"]
        assert fresh.tags is None
        assert fresh.dynamic_variables == fixture["dynamic_variables"]
        assert fresh.version_id not in (apex.version_id, edited.version_id)
        assert fresh.version_name == "Imported from Vapi"
        assert fresh.created_at == apex.created_at
        assert fresh.telephony_settings is not None and apex.telephony_settings is not None
        assert fresh.telephony_settings.default_texml_app_id == apex.telephony_settings.default_texml_app_id

        versions = sdk.ai.assistants.versions.list(apex.id).data
        assert [v.version_id for v in versions] == [fresh.version_id, edited.version_id, apex.version_id]
        assert sdk.ai.assistants.retrieve(apex.id).version_id == fresh.version_id
        assert len(sdk.ai.assistants.list().data) == 3

    def test_reimport_of_a_selection_touches_only_that_agent(self, sdk: telnyx.Telnyx) -> None:
        first = sdk.ai.assistants.imports(provider="elevenlabs", api_key_ref="k").data
        again = sdk.ai.assistants.imports(provider="elevenlabs", api_key_ref="k", import_ids=[LUMEN]).data
        assert [a.id for a in again] == [first[2].id]
        main_versions = {a.id: a.version_id for a in sdk.ai.assistants.list().data}
        assert main_versions == {
            first[0].id: first[0].version_id,
            first[1].id: first[1].version_id,
            first[2].id: again[0].version_id,
        }

    def test_reimport_detaches_shared_tools(self, sdk: telnyx.Telnyx) -> None:
        tool = sdk.ai.tools.create(display_name="Bye", type="hangup", extra_body={"hangup": {}})
        imported = sdk.ai.assistants.imports(provider="retell", api_key_ref="k").data[0]
        with_tool = sdk.ai.assistants.update(imported.id, tool_ids=[tool.id], tools=[])
        assert [t.shared for t in with_tool.tools or []] == [True]
        again = sdk.ai.assistants.imports(provider="retell", api_key_ref="k").data[0]
        assert again.id == imported.id
        assert {t.shared for t in again.tools or []} == {False}

    def test_reimport_after_delete_creates_a_new_assistant(self, sdk: telnyx.Telnyx) -> None:
        first = sdk.ai.assistants.imports(provider="retell", api_key_ref="k").data[0]
        sdk.ai.assistants.delete(first.id)
        again = sdk.ai.assistants.imports(provider="retell", api_key_ref="k").data[0]
        assert again.id != first.id
        assert len(sdk.ai.assistants.versions.list(again.id).data) == 1


class TestRefusals:
    def test_unknown_import_id_is_400_naming_it_and_imports_nothing(self, sdk: telnyx.Telnyx) -> None:
        with pytest.raises(telnyx.BadRequestError) as caught:
            sdk.ai.assistants.imports(provider="vapi", api_key_ref="k", import_ids=[APEX, "nope-1", "nope-2"])
        assert caught.value.status_code == 400
        assert body(caught.value) == {
            "errors": [
                {
                    "code": "10015",
                    "title": "Bad Request",
                    "detail": "No Vapi assistant with id 'nope-1', 'nope-2' is visible to this API key",
                }
            ]
        }
        assert sdk.ai.assistants.list().data == []

    def test_missing_secret_ref_is_400(self, sdk: telnyx.Telnyx) -> None:
        with pytest.raises(telnyx.BadRequestError) as caught:
            sdk.ai.assistants.imports(provider="elevenlabs", api_key_ref="missing")
        assert body(caught.value)["errors"][0]["detail"] == (
            "Integration secret 'missing' not found; create it under /v2/integration_secrets first"
        )
        assert sdk.ai.assistants.list().data == []

    def test_bad_provider_is_422(self, sdk: telnyx.Telnyx) -> None:
        with pytest.raises(telnyx.UnprocessableEntityError) as caught:
            sdk.ai.assistants.imports(provider="bland", api_key_ref="k")  # type: ignore[arg-type]
        detail = body(caught.value)["detail"]
        assert [(d["loc"], d["type"]) for d in detail] == [(["body", "provider"], "enum")]

    @pytest.mark.parametrize(
        ("sent", "loc", "kind"),
        [
            ({"api_key_ref": "k"}, ["body", "provider"], "missing"),
            ({"provider": "vapi"}, ["body", "api_key_ref"], "missing"),
            ({"provider": "vapi", "api_key_ref": ""}, ["body", "api_key_ref"], "string_too_short"),
            ({"provider": "vapi", "api_key_ref": 7}, ["body", "api_key_ref"], "string_type"),
            ({"provider": "vapi", "api_key_ref": "k", "import_ids": APEX}, ["body", "import_ids"], "list_type"),
            ({"provider": "vapi", "api_key_ref": "k", "import_ids": [1]}, ["body", "import_ids", 0], "string_type"),
        ],
    )
    def test_bad_bodies_are_422(self, emulator: EmulatorServer, sent: Any, loc: list[Any], kind: str) -> None:
        response = post_import(emulator, sent)
        assert response.status_code == 422
        assert [(d["loc"], d["type"]) for d in response.json()["detail"]] == [(loc, kind)]

    def test_route_is_not_an_assistant_id_and_counts_under_its_own_template(self, emulator: EmulatorServer) -> None:
        assert post_import(emulator, {"provider": "vapi", "api_key_ref": "k"}).status_code == 200
        get = httpx.get(f"{emulator.base_url}/ai/assistants/import", headers=AUTH)
        assert get.status_code == 405
        assert get.headers["allow"] == "POST"
        by_route = emulator.stats()["by_route"]
        assert by_route["POST /v2/ai/assistants/import"] == 1
        assert by_route["GET /v2/ai/assistants/import"] == 1
