"""The API's write rules where one document is not enough: pay tools attached by name.

Each document is held to ``reconciler.api.write_rules`` on its own (``schema.validate_document``).
A shared Tool attached by name (``shared_tools: [take-payment]``, a prompt node's
``shared_tools``, a tool node's ``shared_tool``) may be a ``pay`` tool, which needs
``telephony_settings.disable_dtmf: true`` on the assistant, so the loader runs this check once
every document is read. The message names the tool's document, the problem's location is the
assistant's.

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

__all__ = ["cross_document_problems"]


def cross_document_problems(resources: Sequence[Resource]) -> list[ManifestProblem]:
    """Write-rule problems of valid documents that only the other documents reveal."""
    tools = {r.name: r for r in resources if r.kind == "Tool"}
    assistants = {r.name: r for r in resources if r.kind == "Assistant"}
    problems: list[ManifestProblem] = []
    for assistant in assistants.values():
        for violation in _violations(assistant.spec, tools):
            problems.append(_problem(assistant, violation.path, violation.message, assistant.secrets))
    return problems


def _violations(spec: Mapping[str, Any], tools: Mapping[str, Resource]) -> list[Violation]:
    """Every rule ``spec`` breaks once its attached shared tools are known."""
    return assistant_violations(spec, attached_pay_tools=list(_attached_pay_tools(spec, tools)))


def _attached_pay_tools(spec: Mapping[str, Any], tools: Mapping[str, Resource]) -> Iterator[str]:
    for ref in references("Assistant", spec):
        tool = tools.get(ref.name) if ref.kind == "Tool" else None
        if tool is not None and tool.spec.get("type") == "pay":
            yield f"{format_path(ref.path)}: {tool.address} at {tool.file}:{tool.line}"


def _problem(resource: Resource, spec_path: JsonPath, message: str, secrets: frozenset[str]) -> ManifestProblem:
    return ManifestProblem(
        file=resource.file,
        line=resource.line_of(spec_path),
        message=mask_text(message, secrets),
        kind=resource.kind,
        name=resource.name,
        path=format_path(("spec", *spec_path)),
    )
