"""The official SDK, with strict response validation, drives the emulator's assistant and version API.

The SDK is the independent judge: a response shape it rejects fails these tests before any assertion.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
import telnyx

ASSISTANT_ID = re.compile(r"^assistant-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")

REALISTIC: dict[str, Any] = {
    "name": "support-triage",
    "instructions": "You triage support calls for {{company}}.",
    "greeting": "Hi, this is Acme support.",
    "voice_settings": {"voice": "Telnyx.KokoroTTS.af_heart", "voice_speed": 1.1},
    "transcription": {"model": "deepgram/flux", "language": "en", "settings": {"eot_threshold": 0.7}},
    "telephony_settings": {"time_limit_secs": 900, "noise_suppression": "krisp"},
    "dynamic_variables": {"company": "Acme", "tier": "gold"},
    "tags": ["support", "tier-1"],
    "tools": [
        {
            "type": "webhook",
            "timeout_ms": 4000,
            "webhook": {
                "name": "lookup_order",
                "description": "Find an order by id.",
                "url": "https://api.example.com/orders/{id}",
                "path_parameters": {
                    "type": "object",
                    "properties": {"id": {"type": "string"}},
                    "required": ["id"],
                },
            },
        },
        {"type": "transfer", "transfer": {"targets": [{"to": "+13125550100", "name": "billing desk"}]}},
        {"type": "hangup", "hangup": {}},
        {
            "type": "function",
            "function": {"name": "summarise", "parameters": {"type": "object", "properties": {}}},
        },
    ],
}


def raw(sdk: telnyx.Telnyx, assistant_id: str) -> dict[str, Any]:
    """The retrieve body as JSON, free of SDK aliasing (from_)."""
    body: dict[str, Any] = sdk.ai.assistants.with_raw_response.retrieve(assistant_id).json()
    return body


class TestCreate:
    def test_realistic_create_round_trips_with_server_defaults(self, sdk: telnyx.Telnyx) -> None:
        """What we sent comes back, plus exactly the fields the server fills in."""
        before = datetime.now(UTC)
        created = sdk.ai.assistants.create(**REALISTIC)
        assert ASSISTANT_ID.match(created.id)
        assert created.version_id is not None and UUID4.match(created.version_id)
        assert created.version_name == "New assistant"
        assert created.created_at >= before.replace(microsecond=0)
        assert created.version_created_at == created.created_at

        body = raw(sdk, created.id)
        assert body["model"] == "meta-llama/Llama-3.3-70B-Instruct"
        assert body["voice_settings"] == REALISTIC["voice_settings"]
        assert body["transcription"] == REALISTIC["transcription"]
        assert body["dynamic_variables"] == {"company": "Acme", "tier": "gold"}
        assert body["tags"] == ["support", "tier-1"]
        texml = body["telephony_settings"].pop("default_texml_app_id")
        assert texml.isdigit()
        assert body["telephony_settings"] == {"time_limit_secs": 900, "noise_suppression": "krisp"}
        assert UUID4.match(body["messaging_settings"]["default_messaging_profile_id"])
        assert "insight_settings" not in body
        assert "tool_ids" not in body and "promote_to_main" not in body

    def test_inline_tools_read_back_with_read_only_additions(self, sdk: telnyx.Telnyx) -> None:
        """shared: false on every inline tool, a webhook method, and a transfer `from`."""
        created = sdk.ai.assistants.create(**REALISTIC)
        tools = raw(sdk, created.id)["tools"]
        assert [t["type"] for t in tools] == ["webhook", "transfer", "hangup", "function"]
        assert all(t["shared"] is False for t in tools)
        assert tools[0]["timeout_ms"] == 4000
        assert tools[0]["webhook"]["method"] == "POST"
        assert tools[1]["transfer"] == {
            "from": "",
            "targets": [{"to": "+13125550100", "name": "billing desk"}],
        }
        assert tools[2]["hangup"] == {}
        assert tools[3]["function"]["name"] == "summarise"

    def test_model_is_kept_when_given(self, sdk: telnyx.Telnyx) -> None:
        created = sdk.ai.assistants.create(name="a", instructions="b", model="openai/gpt-4o")
        assert created.model == "openai/gpt-4o"

    def test_insight_model_defaults_only_when_settings_given(self, sdk: telnyx.Telnyx) -> None:
        created = sdk.ai.assistants.create(
            name="a", instructions="b", insight_settings={"insight_group_id": "g"}
        )
        assert created.insight_settings is not None
        assert created.insight_settings.model == "zai-org/GLM-5.3-Flash"
        assert created.insight_settings.insight_group_id == "g"

    def test_missing_required_field_is_422(self, sdk: telnyx.Telnyx) -> None:
        with pytest.raises(telnyx.UnprocessableEntityError) as caught:
            sdk.ai.assistants.create(name="a", instructions="b", extra_body={"instructions": 5})
        assert caught.value.body == {
            "detail": [
                {
                    "loc": ["body", "instructions"],
                    "msg": "Input should be a valid string",
                    "type": "string_type",
                }
            ]
        }


class TestListRetrieveDelete:
    def test_list_returns_full_objects_unpaginated(self, sdk: telnyx.Telnyx) -> None:
        first = sdk.ai.assistants.create(**REALISTIC)
        second = sdk.ai.assistants.create(name="billing", instructions="Bill.")
        listed = sdk.ai.assistants.list()
        assert [a.id for a in listed.data] == [first.id, second.id]
        assert listed.data[0].to_dict() == sdk.ai.assistants.retrieve(first.id).to_dict()
        body = sdk.ai.assistants.with_raw_response.list().json()
        assert set(body) == {"data"}

    def test_delete(self, sdk: telnyx.Telnyx) -> None:
        created = sdk.ai.assistants.create(name="a", instructions="b")
        deleted = sdk.ai.assistants.delete(created.id)
        assert deleted.to_dict() == {"id": created.id, "deleted": True, "object": "assistant"}
        assert sdk.ai.assistants.list().data == []
        with pytest.raises(telnyx.NotFoundError):
            sdk.ai.assistants.retrieve(created.id)

    def test_delete_refused_while_handed_off_to(self, sdk: telnyx.Telnyx) -> None:
        """Telnyx refuses (400) to delete an assistant another one hands off to."""
        billing = sdk.ai.assistants.create(name="billing", instructions="Bill.")
        sdk.ai.assistants.create(
            name="front",
            instructions="Route.",
            tools=[
                {"type": "handoff", "handoff": {"ai_assistants": [{"id": billing.id, "name": "billing"}]}}
            ],
        )
        with pytest.raises(telnyx.BadRequestError):
            sdk.ai.assistants.delete(billing.id)
        assert sdk.ai.assistants.retrieve(billing.id).id == billing.id


class TestUpdate:
    def test_partial_update_leaves_omitted_fields(self, sdk: telnyx.Telnyx) -> None:
        created = sdk.ai.assistants.create(**REALISTIC)
        updated = sdk.ai.assistants.update(created.id, greeting="Hello!")
        body = raw(sdk, created.id)
        assert updated.greeting == body["greeting"] == "Hello!"
        assert body["instructions"] == REALISTIC["instructions"]
        assert body["tags"] == ["support", "tier-1"]
        assert len(body["tools"]) == 4
        assert body["version_id"] == updated.version_id != created.version_id

    def test_nested_objects_merge_and_null_clears(self, sdk: telnyx.Telnyx) -> None:
        """Nested fields merge one by one; explicit null removes a value; arrays replace."""
        created = sdk.ai.assistants.create(**REALISTIC)
        sdk.ai.assistants.update(
            created.id,
            voice_settings={"voice": "Telnyx.KokoroTTS.am_adam"},
            transcription={"settings": {"eager_eot_threshold": 0.5}},
            telephony_settings={"user_idle_timeout_secs": 30},
            tags=["support"],
        )
        body = raw(sdk, created.id)
        assert body["voice_settings"] == {"voice": "Telnyx.KokoroTTS.am_adam", "voice_speed": 1.1}
        assert body["transcription"] == {
            "model": "deepgram/flux",
            "language": "en",
            "settings": {"eot_threshold": 0.7, "eager_eot_threshold": 0.5},
        }
        texml = raw(sdk, created.id)["telephony_settings"]["default_texml_app_id"]
        assert body["telephony_settings"] == {
            "time_limit_secs": 900,
            "noise_suppression": "krisp",
            "user_idle_timeout_secs": 30,
            "default_texml_app_id": texml,
        }
        assert body["tags"] == ["support"]

    def test_explicit_null_clears_a_nested_value(self, sdk: telnyx.Telnyx) -> None:
        created = sdk.ai.assistants.create(**REALISTIC)
        typing_audio = {"type": "predefined_media", "value": "typing"}
        sdk.ai.assistants.update(created.id, voice_settings={"voice": "v", "tool_call_audio": typing_audio})
        assert raw(sdk, created.id)["voice_settings"]["tool_call_audio"] == typing_audio
        sdk.ai.assistants.update(created.id, voice_settings={"voice": "v", "tool_call_audio": None})
        assert raw(sdk, created.id)["voice_settings"] == {"voice": "v", "voice_speed": 1.1}

    def test_top_level_null_clears_a_field(self, sdk: telnyx.Telnyx) -> None:
        avatar = {"provider": "telnyx", "model": "foxtrot-1", "avatar_id": "av", "background_id": "studio"}
        created = sdk.ai.assistants.create(name="a", instructions="b", avatar_settings=avatar)
        assert raw(sdk, created.id)["avatar_settings"] == avatar
        sdk.ai.assistants.update(created.id, avatar_settings=None)
        assert "avatar_settings" not in raw(sdk, created.id)

    def test_auto_created_ids_are_stable_across_updates(self, sdk: telnyx.Telnyx) -> None:
        created = raw(sdk, sdk.ai.assistants.create(name="a", instructions="b").id)
        sdk.ai.assistants.update(created["id"], telephony_settings={"time_limit_secs": 60})
        after = raw(sdk, created["id"])
        assert (
            after["telephony_settings"]["default_texml_app_id"]
            == (created["telephony_settings"]["default_texml_app_id"])
        )
        assert after["messaging_settings"] == created["messaging_settings"]

    def test_promote_to_main_false_keeps_main(self, sdk: telnyx.Telnyx) -> None:
        """A non-promoted update is stored as a version; retrieve keeps returning main."""
        created = sdk.ai.assistants.create(name="a", instructions="v1")
        candidate = sdk.ai.assistants.update(
            created.id, instructions="v2", promote_to_main=False, version_name="candidate-b"
        )
        assert candidate.instructions == "v2"
        assert candidate.version_name == "candidate-b"
        main = sdk.ai.assistants.retrieve(created.id)
        assert main.instructions == "v1"
        assert main.version_id == created.version_id
        fetched = sdk.ai.assistants.versions.retrieve(candidate.version_id or "", assistant_id=created.id)
        assert fetched.instructions == "v2"
        assert fetched.version_name == "candidate-b"


class TestVersions:
    def test_versions_list_newest_first_including_main(self, sdk: telnyx.Telnyx) -> None:
        created = sdk.ai.assistants.create(name="a", instructions="v1")
        v2 = sdk.ai.assistants.update(created.id, instructions="v2")
        v3 = sdk.ai.assistants.update(created.id, instructions="v3", promote_to_main=False)
        versions = sdk.ai.assistants.versions.list(created.id).data
        assert [v.version_id for v in versions] == [v3.version_id, v2.version_id, created.version_id]
        assert [v.instructions for v in versions] == ["v3", "v2", "v1"]
        assert {v.id for v in versions} == {created.id}
        assert sdk.ai.assistants.retrieve(created.id).version_id == v2.version_id

    def test_promote_makes_a_version_main(self, sdk: telnyx.Telnyx) -> None:
        created = sdk.ai.assistants.create(name="a", instructions="v1")
        candidate = sdk.ai.assistants.update(created.id, instructions="v2", promote_to_main=False)
        vid = candidate.version_id or ""
        promoted = sdk.ai.assistants.versions.promote(vid, assistant_id=created.id)
        assert promoted.version_id == vid
        assert sdk.ai.assistants.retrieve(created.id).instructions == "v2"

    def test_version_update_edits_in_place_and_refuses_main(self, sdk: telnyx.Telnyx) -> None:
        created = sdk.ai.assistants.create(name="a", instructions="v1")
        candidate = sdk.ai.assistants.update(created.id, instructions="v2", promote_to_main=False)
        vid = candidate.version_id or ""
        edited = sdk.ai.assistants.versions.update(vid, assistant_id=created.id, greeting="Hey")
        assert (edited.version_id, edited.instructions, edited.greeting) == (vid, "v2", "Hey")
        assert len(sdk.ai.assistants.versions.list(created.id).data) == 2
        with pytest.raises(telnyx.BadRequestError):
            sdk.ai.assistants.versions.update(created.version_id or "", assistant_id=created.id, greeting="x")

    def test_version_delete(self, sdk: telnyx.Telnyx) -> None:
        created = sdk.ai.assistants.create(name="a", instructions="v1")
        candidate = sdk.ai.assistants.update(created.id, instructions="v2", promote_to_main=False)
        assert sdk.ai.assistants.versions.delete(candidate.version_id or "", assistant_id=created.id) is None
        assert [v.version_id for v in sdk.ai.assistants.versions.list(created.id).data] == [
            created.version_id
        ]
        with pytest.raises(telnyx.BadRequestError):
            sdk.ai.assistants.versions.delete(created.version_id or "", assistant_id=created.id)
        with pytest.raises(telnyx.NotFoundError):
            sdk.ai.assistants.versions.retrieve(candidate.version_id or "", assistant_id=created.id)
