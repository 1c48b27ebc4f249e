"""The API's write rules where one document is not enough: attached pay tools and candidate versions.

Each document is held to ``reconciler.api.write_rules`` on its own (``schema.validate_document``).
Two cases need the whole manifest set, so the loader runs them once every document is read:

- A shared Tool attached by name (``shared_tools: [take-payment]``, a prompt node's
  ``shared_tools``, a tool node's ``shared_tool``) may be a ``pay`` tool, which needs
  ``telephony_settings.disable_dtmf: true`` on the assistant. The message names the tool's
  document, the problem's location is the assistant's.
- A CanaryDeploy's candidate version is the assistant's spec with the override's top-level fields
  on top (``candidate_spec``, the manifest-shape twin of what ``kinds/canary.py`` sends), and Telnyx
  holds it to the same rules. A rule the candidate breaks where the assistant breaks none is
  reported at the override: at the field when the override states it, else at the version with
  the assistant's document named.

Only valid documents take part (the loader's resources): a broken Tool or Assistant is reported
on its own first.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from reconciler.api.write_rules import Violation, assistant_violations
from reconciler.errors import ManifestProblem
from reconciler.manifests.references import references
from reconciler.model import JsonPath, Resource, format_path
from reconciler.redact import mask_text

__all__ = ["candidate_spec", "cross_document_problems"]

ATTACHED_TOOLS = frozenset({"shared_tools", "tool_ids"})
"""An override that states either replaces both: the engine sends them as one ``tool_ids`` list."""


def candidate_spec(assistant: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """The spec of a candidate version: the assistant's, each top-level field of ``override`` replacing its own."""
    base = dict(assistant)
    if ATTACHED_TOOLS & set(override):
        base = {k: v for k, v in base.items() if k not in ATTACHED_TOOLS}
    return {**base, **override}


def cross_document_problems(resources: Sequence[Resource]) -> list[ManifestProblem]:
    """Write-rule problems of valid documents that only the other documents reveal."""
    tools = {r.name: r for r in resources if r.kind == "Tool"}
    assistants = {r.name: r for r in resources if r.kind == "Assistant"}
    problems: list[ManifestProblem] = []
    for assistant in assistants.values():
        pay_tools = list(_attached_pay_tools(assistant.spec, tools))
        if not pay_tools:  # then the rules know no more than when the document alone passed them
            continue
        for violation in assistant_violations(assistant.spec, attached_pay_tools=pay_tools):
            problems.append(_problem(assistant, violation.path, violation.message, assistant.secrets))
    for canary in (r for r in resources if r.kind == "CanaryDeploy"):
        target = assistants.get(str(canary.spec.get("assistant")))
        versions = canary.spec.get("versions")
        if target is not None and isinstance(versions, Mapping):
            problems.extend(_candidate_problems(canary, target, versions, tools))
    return problems


def _violations(spec: Mapping[str, Any], tools: Mapping[str, Resource]) -> list[Violation]:
    """Every rule ``spec`` breaks once its attached shared tools are known."""
    return assistant_violations(spec, attached_pay_tools=list(_attached_pay_tools(spec, tools)))


def _attached_pay_tools(spec: Mapping[str, Any], tools: Mapping[str, Resource]) -> Iterator[str]:
    for ref in references("Assistant", spec):
        tool = tools.get(ref.name) if ref.kind == "Tool" else None
        if tool is not None and tool.spec.get("type") == "pay":
            yield f"{format_path(ref.path)}: {tool.address} at {tool.file}:{tool.line}"


def _candidate_problems(
    canary: Resource, assistant: Resource, versions: Mapping[str, Any], tools: Mapping[str, Resource]
) -> Iterator[ManifestProblem]:
    broken = {v.path for v in _violations(assistant.spec, tools)}  # reported on the assistant already
    secrets = canary.secrets | assistant.secrets
    for version, override in versions.items():
        if not isinstance(override, Mapping):
            continue
        for violation in _violations(candidate_spec(assistant.spec, override), tools):
            if violation.path in broken:
                continue
            top = violation.path[0]
            if top in override:
                yield _problem(canary, ("versions", version, *violation.path), violation.message, secrets)
                continue
            if top in assistant.spec:
                origin = f"{top} comes from {assistant.address} at {assistant.file}:{assistant.line_of((top,))}"
            else:
                origin = f"neither this override nor {assistant.address} sets {top}"
            message = f"in this candidate version, {format_path(violation.path)}: {violation.message} ({origin})"
            yield _problem(canary, ("versions", version), message, secrets)


def _problem(resource: Resource, spec_path: JsonPath, message: str, secrets: frozenset[str]) -> ManifestProblem:
    return ManifestProblem(
        file=resource.file,
        line=resource.line_of(spec_path),
        message=mask_text(message, secrets),
        kind=resource.kind,
        name=resource.name,
        path=format_path(("spec", *spec_path)),
    )
