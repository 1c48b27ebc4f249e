"""POST /ai/assistants/import: assistants from ElevenLabs, Vapi and Retell, out of fixture catalogs.

Why: the emulator cannot reach the providers, so each provider's account is a fixed catalog of agents
(`fixtures/import_<provider>.json`), already in the Telnyx create shape an import would produce. The
rules are the documented ones (telnyx-ai-api.md 2.1): one assistant per agent, `import_metadata` on it,
and a re-import overwrites the earlier import with the provider's version.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

from reconciler.emulator.assistants import AssistantOps
from reconciler.emulator.errors import BadRequest, Unprocessable
from reconciler.emulator.state import Assistant

FIXTURES = Path(__file__).with_name("fixtures")
PROVIDERS = ("elevenlabs", "vapi", "retell")
PROVIDER_TITLES = {"elevenlabs": "ElevenLabs", "vapi": "Vapi", "retell": "Retell"}
# The emulator keeps no integration secrets; every api_key_ref resolves except this one, which stands for
# a secret that does not exist so clients can exercise the refusal.
MISSING_SECRET_REF = "missing"
JSON = dict[str, Any]


@cache
def _catalog(provider: str) -> tuple[tuple[str, JSON], ...]:
    document = json.loads((FIXTURES / f"import_{provider}.json").read_text(encoding="utf-8"))
    return tuple((agent["import_id"], agent["assistant"]) for agent in document["agents"])


def catalog(provider: str) -> list[tuple[str, JSON]]:
    """The provider's agents, `(import_id, create body)`, in catalog order (copies, safe to change)."""
    return [(import_id, copy.deepcopy(body)) for import_id, body in _catalog(provider)]


def import_version_name(provider: str) -> str:
    return f"Imported from {PROVIDER_TITLES[provider]}"


def _check_request(body: JSON) -> None:
    """What the derived schema cannot say: api_key_ref must be non-empty and must resolve."""
    ref = body["api_key_ref"]
    if not ref:
        msg = "String should have at least 1 character"
        raise Unprocessable([{"loc": ["body", "api_key_ref"], "msg": msg, "type": "string_too_short"}])
    if ref == MISSING_SECRET_REF:
        raise BadRequest(f"Integration secret {ref!r} not found; create it under /v2/integration_secrets first")


class ImportOps(AssistantOps):
    """Import (and re-import) a provider's agents as assistants."""

    def _imported(self, provider: str, import_id: str) -> Assistant | None:
        """The live assistant an earlier import of this agent created, if any (deleted ones do not count)."""
        wanted = {"import_id": import_id, "import_provider": provider}
        for assistant in self.assistants.values():
            if assistant.import_metadata == wanted:
                self._mark(self.assistants, assistant.id)
                return assistant
        return None

    def import_assistants(self, body: JSON) -> JSON:
        """`{"data": [assistant, ...]}`, one per selected agent in selection order; all or nothing."""
        _check_request(body)
        provider: str = body["provider"]
        agents = dict(catalog(provider))
        selected = list(dict.fromkeys(body["import_ids"])) if "import_ids" in body else list(agents)
        unknown = [i for i in selected if i not in agents]
        if unknown:
            raise BadRequest(
                f"No {PROVIDER_TITLES[provider]} assistant with id {', '.join(map(repr, unknown))} "
                "is visible to this API key"
            )
        with self._writing():
            return {"data": [self._import_one(provider, i, agents[i]) for i in selected]}

    def _import_one(self, provider: str, import_id: str, config: JSON) -> JSON:
        assistant = self._imported(provider, import_id)
        name = import_version_name(provider)
        if assistant is None:
            created = self.create_assistant(config)
            assistant = self.assistants[created["id"]]
            assistant.import_metadata = {"import_id": import_id, "import_provider": provider}
            assistant.main.version_name = name
            return self._render(assistant, assistant.main)
        # Overwrite: the provider's definition replaces the whole configuration (hand edits, tags and
        # attached shared tools included) as a new main version, like an update that sends everything.
        version = self._new_version(assistant, config, [], name)
        assistant.main_version_id = version.version_id
        self._evict(assistant)
        return self._render(assistant, version)
