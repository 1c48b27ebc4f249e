"""The benchmark workload: N realistic assistant manifests, a share of them with a canary deploy.

Every assistant has ~8 KB of instructions, four inline tools (webhook, function, transfer,
hangup), voice, transcription, dynamic variables and tags. No references between objects, so the
plain SDK script in ``sdk_baseline.py`` can read the same manifests without resolving names.

Deterministic: the same ``n`` always gives the same files, so runs are comparable.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

INSTRUCTION_BYTES = 8 * 1024
CANARY_EVERY = 10
"""Assistants whose index is a multiple of this get a CanaryDeploy (10%)."""
UPDATE_EVERY = 10
UPDATE_OFFSET = 5
"""The update scenario edits assistants with ``index % UPDATE_EVERY == UPDATE_OFFSET`` (10%, none with a canary)."""

_TOPICS = (
    "orders", "refunds", "shipping", "warranty", "installation", "billing", "accounts", "returns",
    "appointments", "subscriptions", "outages", "upgrades",
)


def assistant_name(index: int) -> str:
    return f"bench-assistant-{index:05d}"


def instructions(index: int, revision: int = 0) -> str:
    """About 8 KB of plausible, varied prompt text."""
    topic = _TOPICS[index % len(_TOPICS)]
    lines = [f"You are assistant {index} of the Acme contact centre and handle {topic} (revision {revision})."]
    step = 0
    while sum(len(line) + 1 for line in lines) < INSTRUCTION_BYTES:
        step += 1
        other = _TOPICS[(index + step) % len(_TOPICS)]
        lines.append(
            f"{step}. When the caller mentions {other}, confirm their account with get_customer, "
            f"restate the request in one sentence, and never promise a date you cannot check."
        )
    return "\n".join(lines) + "\n"


def assistant_spec(index: int, revision: int = 0) -> dict[str, Any]:
    topic = _TOPICS[index % len(_TOPICS)]
    return {
        "description": f"Benchmark assistant {index} for {topic}.",
        "model": "openai/gpt-4o",
        "instructions": instructions(index, revision),
        "greeting": f"Thanks for calling Acme {topic}. How can I help?",
        "tags": ["bench", topic, f"team-{index % 7}"],
        "voice_settings": {"voice": "Telnyx.KokoroTTS.af_heart", "voice_speed": 1.05},
        "transcription": {"model": "deepgram/nova-3", "language": "en"},
        "dynamic_variables": {"company": "Acme", "queue": topic},
        "tools": [
            {
                "type": "webhook",
                "timeout_ms": 4000,
                "webhook": {
                    "name": "lookup_order",
                    "description": f"Find an order for the {topic} desk.",
                    "url": f"https://api.example.com/{topic}/orders/{{id}}",
                    "path_parameters": {
                        "type": "object",
                        "properties": {"id": {"type": "string"}},
                        "required": ["id"],
                    },
                },
            },
            {
                "type": "function",
                "function": {
                    "name": "summarise",
                    "description": "Summarise the call for the ticket.",
                    "parameters": {"type": "object", "properties": {"summary": {"type": "string"}}},
                },
            },
            {"type": "transfer", "transfer": {"targets": [{"to": f"+1312555{index % 10000:04d}", "name": "desk"}]}},
            {"type": "hangup", "hangup": {"description": "End the call when the caller is helped."}},
        ],
    }


def canary_spec(index: int) -> dict[str, Any]:
    return {
        "assistant": assistant_name(index),
        "versions": {"concise": {"instructions": instructions(index, revision=100)}},
        "rules": [{"serve": {"rollout": [{"version": "concise", "weight": 10}]}}],
    }


def has_canary(index: int) -> bool:
    return index % CANARY_EVERY == 0


def is_updated(index: int) -> bool:
    return index % UPDATE_EVERY == UPDATE_OFFSET


def write_manifests(directory: Path, n: int, updated: bool = False) -> None:
    """One file per assistant and one per canary deploy; ``updated`` applies the 10% edit."""
    (directory / "assistants").mkdir(parents=True, exist_ok=True)
    (directory / "canaries").mkdir(parents=True, exist_ok=True)
    for index in range(n):
        revision = 1 if (updated and is_updated(index)) else 0
        doc = {"apiVersion": "reconciler/v1", "kind": "Assistant", "name": assistant_name(index),
               "spec": assistant_spec(index, revision)}
        _dump(directory / "assistants" / f"{assistant_name(index)}.yaml", doc)
        if has_canary(index):
            canary = {"apiVersion": "reconciler/v1", "kind": "CanaryDeploy", "name": f"{assistant_name(index)}-canary",
                      "spec": canary_spec(index)}
            _dump(directory / "canaries" / f"{assistant_name(index)}-canary.yaml", canary)


class _Dumper(yaml.SafeDumper):
    """Multi-line strings as ``|`` block scalars, the way people write instructions by hand."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def _dump(path: Path, doc: dict[str, Any]) -> None:
    path.write_text(yaml.dump(doc, Dumper=_Dumper, sort_keys=False, width=120), encoding="utf-8")


def counts(n: int) -> tuple[int, int]:
    """(assistants with a canary, assistants the update scenario edits)."""
    return sum(1 for i in range(n) if has_canary(i)), sum(1 for i in range(n) if is_updated(i))
