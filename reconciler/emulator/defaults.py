"""Fields the Telnyx server fills in, on write and on read.

Why: the reconciler must learn to ignore server-owned values, so the emulator has to produce them the way
the real API does (telnyx-ai-api.md 2.3 and gotcha 9) and in shapes the SDK's strict read models accept.
"""

from __future__ import annotations

import copy
import random
import uuid
from typing import Any

DEFAULT_MODEL = "meta-llama/Llama-3.3-70B-Instruct"
DEFAULT_INSIGHT_MODEL = "zai-org/GLM-5.3-Flash"
DEFAULT_VERSION_NAME = "New assistant"  # the OpenAPI default of version_name
DEFAULT_WEBHOOK_METHOD = "POST"  # the OpenAPI default of WebhookToolParams.method
# The SDK read model requires transfer/invite "from"; the real value is the agent's own number, which an
# emulator does not have, so an empty string stands in for "the number the call came in on".
DEFAULT_CALLER_ID = ""

WRITE_ONLY_FIELDS = ("tool_ids", "promote_to_main", "version_name")
# Server-owned fields of the read shape: a body that carries them (say, a read object sent back as an
# update) is accepted, but they are dropped rather than stored over the server's values.
READ_ONLY_FIELDS = ("id", "created_at", "version_id", "version_created_at", "import_metadata", "related_mission_ids")


def new_texml_app_id() -> str:
    """TeXML application ids are long decimal strings."""
    return str(random.SystemRandom().randrange(10**18, 10**19))


def new_messaging_profile_id() -> str:
    return str(uuid.uuid4())


def fill_write_defaults(
    config: dict[str, Any], texml_app_id: str, messaging_profile_id: str
) -> dict[str, Any]:
    """Return config with what the server materialises on every create and update."""
    filled = copy.deepcopy(config)
    for field in (*WRITE_ONLY_FIELDS, *READ_ONLY_FIELDS):
        filled.pop(field, None)
    if "model" not in filled:
        external = filled.get("external_llm")
        # The read model requires `model`; with a bring-your-own LLM its model name is the natural value.
        filled["model"] = (
            external["model"] if isinstance(external, dict) and "model" in external else DEFAULT_MODEL
        )
    filled.setdefault("telephony_settings", {}).setdefault("default_texml_app_id", texml_app_id)
    filled.setdefault("messaging_settings", {}).setdefault(
        "default_messaging_profile_id", messaging_profile_id
    )
    if isinstance(filled.get("enabled_features"), list):
        # A set of features: the read model declares the list unique, so a repeat is stored once.
        filled["enabled_features"] = list(dict.fromkeys(filled["enabled_features"]))
    insight = filled.get("insight_settings")
    if isinstance(insight, dict):
        insight.setdefault("model", DEFAULT_INSIGHT_MODEL)
    return filled


def read_tools(tools: list[Any]) -> list[Any]:
    """Inline tools as the read API shows them: `shared: false`, webhook method, transfer/invite `from`."""
    shown: list[Any] = []
    for tool in tools:
        if not isinstance(tool, dict):
            shown.append(tool)
            continue
        item = {**copy.deepcopy(tool), "shared": False}
        kind = item.get("type")
        payload = item.get(kind) if isinstance(kind, str) else None
        if kind == "webhook" and isinstance(payload, dict):
            payload.setdefault("method", DEFAULT_WEBHOOK_METHOD)
        if kind in ("transfer", "invite") and isinstance(payload, dict):
            payload.setdefault("from", DEFAULT_CALLER_ID)
        shown.append(item)
    return shown
