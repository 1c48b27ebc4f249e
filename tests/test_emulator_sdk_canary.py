"""The official SDK, strict validation on, drives tags, canary deploys and version retrieve flags."""

from __future__ import annotations

from typing import Any

import pytest
import telnyx

from tests.conftest import body, payload


def assistant_with_candidates(sdk: telnyx.Telnyx, count: int) -> tuple[str, list[str]]:
    """An assistant and the version ids of `count` unpromoted candidates."""
    created = sdk.ai.assistants.create(name="a", instructions="v0")
    ids = []
    for n in range(count):
        version = sdk.ai.assistants.update(created.id, instructions=f"c{n}", promote_to_main=False)
        assert version.version_id is not None
        ids.append(version.version_id)
    return created.id, ids


def pin(version_id: str) -> Any:
    """One catch-all rule serving version_id."""
    return [{"serve": {"version_id": version_id}}]


def rules(pinned: str, rolled: str, weight: float = 10) -> Any:
    return [
        {
            "match": [{"attribute": "caller_number", "operator": "in", "values": ["+13125550100"]}],
            "serve": {"version_id": pinned},
        },
        {"serve": {"rollout": [{"version_id": rolled, "weight": weight}]}},
    ]


class TestTags:
    def test_add_remove_and_org_list(self, sdk: telnyx.Telnyx) -> None:
        first = sdk.ai.assistants.create(name="a", instructions="b", tags=["support"])
        second = sdk.ai.assistants.create(name="c", instructions="d")
        assert sdk.ai.assistants.tags.add(second.id, tag="billing").tags == ["billing"]
        assert sdk.ai.assistants.tags.add(first.id, tag="billing").tags == ["support", "billing"]
        assert sdk.ai.assistants.tags.add(first.id, tag="billing").tags == ["support", "billing"]
        assert sdk.ai.assistants.tags.list().tags == ["billing", "support"]
        assert sdk.ai.assistants.tags.remove("support", assistant_id=first.id).tags == ["billing"]
        assert sdk.ai.assistants.tags.list().tags == ["billing"]
        assert sdk.ai.assistants.retrieve(first.id).tags == ["billing"]

    def test_tag_edits_do_not_create_versions(self, sdk: telnyx.Telnyx) -> None:
        created = sdk.ai.assistants.create(name="a", instructions="b")
        sdk.ai.assistants.tags.add(created.id, tag="x")
        sdk.ai.assistants.tags.remove("x", assistant_id=created.id)
        assert len(sdk.ai.assistants.versions.list(created.id).data) == 1

    def test_tags_with_slashes_and_spaces_are_percent_encoded(self, sdk: telnyx.Telnyx) -> None:
        created = sdk.ai.assistants.create(name="a", instructions="b", tags=["team/voice bots", "keep"])
        assert sdk.ai.assistants.tags.remove("team/voice bots", assistant_id=created.id).tags == ["keep"]

    def test_update_tags_replaces_the_list(self, sdk: telnyx.Telnyx) -> None:
        created = sdk.ai.assistants.create(name="a", instructions="b", tags=["x", "y"])
        assert sdk.ai.assistants.update(created.id, tags=["z"]).tags == ["z"]

    def test_unknown_assistant_is_404(self, sdk: telnyx.Telnyx) -> None:
        with pytest.raises(telnyx.NotFoundError):
            sdk.ai.assistants.tags.add("assistant-nope", tag="x")


class TestCanaryDeploys:
    def test_create_get_update_delete(self, sdk: telnyx.Telnyx) -> None:
        assistant_id, (pinned, rolled) = assistant_with_candidates(sdk, 2)
        created = sdk.ai.assistants.canary_deploys.create(assistant_id, rules=rules(pinned, rolled))
        assert created.assistant_id == assistant_id
        assert created.created_at == created.updated_at
        assert created.rules[0].serve.version_id == pinned
        assert created.rules[1].match is None
        assert sdk.ai.assistants.canary_deploys.retrieve(assistant_id) == created
        raw = payload(sdk.ai.assistants.canary_deploys.with_raw_response.retrieve(assistant_id))
        assert raw["rules"] == rules(pinned, rolled)

        updated = sdk.ai.assistants.canary_deploys.update(assistant_id, rules=rules(rolled, pinned, 99.5))
        assert updated.created_at == created.created_at
        assert updated.updated_at > created.updated_at
        assert updated.rules[1].serve.rollout is not None
        assert updated.rules[1].serve.rollout[0].weight == 99.5

        sdk.ai.assistants.canary_deploys.delete(assistant_id)
        with pytest.raises(telnyx.NotFoundError) as caught:
            sdk.ai.assistants.canary_deploys.retrieve(assistant_id)
        assert body(caught.value)["errors"][0]["detail"] == f"Assistant {assistant_id} has no canary deploy"

    def test_put_creates_when_absent(self, sdk: telnyx.Telnyx) -> None:
        assistant_id, (version,) = assistant_with_candidates(sdk, 1)
        put = sdk.ai.assistants.canary_deploys.update(assistant_id, rules=pin(version))
        assert put.created_at == put.updated_at

    def test_second_create_is_400(self, sdk: telnyx.Telnyx) -> None:
        assistant_id, (version,) = assistant_with_candidates(sdk, 1)
        sdk.ai.assistants.canary_deploys.create(assistant_id, rules=pin(version))
        with pytest.raises(telnyx.BadRequestError):
            sdk.ai.assistants.canary_deploys.create(assistant_id, rules=[])

    def test_idempotency_key_replays_the_first_answer(self, sdk: telnyx.Telnyx) -> None:
        assistant_id, (version,) = assistant_with_candidates(sdk, 1)
        body_rules = pin(version)
        first = sdk.ai.assistants.canary_deploys.create(assistant_id, rules=body_rules, idempotency_key="k")
        assert sdk.ai.assistants.canary_deploys.create(assistant_id, rules=body_rules, idempotency_key="k") == first

    def test_serve_must_name_exactly_one(self, sdk: telnyx.Telnyx) -> None:
        assistant_id, (version,) = assistant_with_candidates(sdk, 1)
        both: Any = {"version_id": version, "rollout": [{"version_id": version, "weight": 5}]}
        with pytest.raises(telnyx.UnprocessableEntityError) as caught:
            sdk.ai.assistants.canary_deploys.create(assistant_id, rules=[{"serve": both}, {"serve": {}}])
        message = "Set exactly one of version_id and rollout"
        assert body(caught.value) == {
            "detail": [
                {"loc": ["body", "rules", 0, "serve"], "msg": message, "type": "value_error"},
                {"loc": ["body", "rules", 1, "serve"], "msg": message, "type": "value_error"},
            ]
        }

    def test_weights_must_sum_below_100(self, sdk: telnyx.Telnyx) -> None:
        assistant_id, (one, two) = assistant_with_candidates(sdk, 2)
        rollout: Any = [{"version_id": one, "weight": 60}, {"version_id": two, "weight": 40}]
        with pytest.raises(telnyx.UnprocessableEntityError) as caught:
            sdk.ai.assistants.canary_deploys.create(assistant_id, rules=[{"serve": {"rollout": rollout}}])
        assert body(caught.value)["detail"][0]["loc"] == ["body", "rules", 0, "serve", "rollout"]

    def test_versions_must_belong_to_the_assistant(self, sdk: telnyx.Telnyx) -> None:
        assistant_id, _ = assistant_with_candidates(sdk, 0)
        _, (foreign,) = assistant_with_candidates(sdk, 1)
        with pytest.raises(telnyx.BadRequestError) as caught:
            sdk.ai.assistants.canary_deploys.create(assistant_id, rules=pin(foreign))
        assert body(caught.value)["errors"][0]["detail"] == (
            f"Version {foreign} is not a version of assistant {assistant_id}"
        )

    def test_canary_versions_survive_eviction(self, sdk: telnyx.Telnyx) -> None:
        assistant_id, (pinned, rolled) = assistant_with_candidates(sdk, 2)
        sdk.ai.assistants.canary_deploys.create(assistant_id, rules=rules(pinned, rolled))
        for n in range(12):
            sdk.ai.assistants.update(assistant_id, instructions=f"v{n}")
        kept = [v.version_id for v in sdk.ai.assistants.versions.list(assistant_id).data]
        assert len(kept) == 10
        assert kept[-2:] == [rolled, pinned]

    def test_canary_versions_cannot_be_deleted(self, sdk: telnyx.Telnyx) -> None:
        assistant_id, (version,) = assistant_with_candidates(sdk, 1)
        sdk.ai.assistants.canary_deploys.create(assistant_id, rules=pin(version))
        with pytest.raises(telnyx.BadRequestError):
            sdk.ai.assistants.versions.delete(version, assistant_id=assistant_id)

    def test_promote_deletes_the_canary(self, sdk: telnyx.Telnyx) -> None:
        assistant_id, (version,) = assistant_with_candidates(sdk, 1)
        sdk.ai.assistants.canary_deploys.create(assistant_id, rules=pin(version))
        promoted = sdk.ai.assistants.versions.promote(version, assistant_id=assistant_id)
        assert promoted.version_id == version
        with pytest.raises(telnyx.NotFoundError):
            sdk.ai.assistants.canary_deploys.retrieve(assistant_id)


class TestVersionRetrieve:
    def test_include_mcp_servers_is_accepted_and_changes_nothing(self, sdk: telnyx.Telnyx) -> None:
        server = sdk.ai.mcp_servers.create(name="m", type="http", url="https://m")
        created = sdk.ai.assistants.create(name="a", instructions="b", mcp_servers=[{"id": server.id}])
        assert created.version_id is not None
        for flag in (True, False):
            version = sdk.ai.assistants.versions.retrieve(
                created.version_id, assistant_id=created.id, include_mcp_servers=flag
            )
            assert version.mcp_servers is not None
            assert [m.id for m in version.mcp_servers] == [server.id]
