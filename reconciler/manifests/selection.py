"""A subset of the manifests: ``--target Kind/name`` and ``--select-tag TAG`` on plan, apply and drift.

All manifests are still read and checked (so every reference has a document to point at); the
plan is then made for the chosen documents. A reference to an object outside the selection is
resolved from the live account (its id), like any other; one that the account does not have
yet is pulled in, transitively (a targeted assistant brings the shared tool it names that was
never applied), so apply never writes an id it does not have. Objects outside the selection are
neither planned nor pruned. What was pulled in, and why, is returned so the plan can say so.

    --target Assistant/support-triage   that document (Kind/name, as in protect and ignore rules)
    --select-tag billing                assistants whose ``tags`` hold it, with their
                                        CanaryDeploy and AssistantTest documents
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from reconciler.errors import ConfigError
from reconciler.manifests.references import references
from reconciler.model import Resource

__all__ = ["Subset", "select_subset"]

BELONGS_TO_ASSISTANT = frozenset({"CanaryDeploy", "AssistantTest"})
"""Kinds that a tag selection takes along with their assistant (they name it in ``assistant``)."""


@dataclass(frozen=True)
class Subset:
    resources: list[Resource]
    chosen: tuple[str, ...]
    """Addresses the flags named (directly or by tag), in manifest order."""
    pulled_in: dict[str, str] = field(default_factory=dict)
    """Address of a dependency -> address of the first chosen object that needs it."""
    total: int = 0

    def note(self) -> str:
        """The line the plan shows: how much was selected and which dependencies came along."""
        text = (
            f"targeted plan (--target/--select-tag): {len(self.resources)} of {self.total} manifests; "
            "objects outside it are neither planned nor pruned, references to them use the live objects"
        )
        if self.pulled_in:
            text += "; pulled in as dependencies: " + ", ".join(
                f"{address} (for {by})" for address, by in self.pulled_in.items()
            )
        return text


def _owner(resource: Resource) -> str | None:
    value = resource.spec.get("assistant")
    return value if resource.kind in BELONGS_TO_ASSISTANT and isinstance(value, str) else None


def select_subset(
    resources: Sequence[Resource],
    targets: Sequence[str],
    tags: Sequence[str],
    exists: Callable[[str, str], bool] = lambda kind, name: False,
) -> Subset | None:
    """The selected documents and the dependencies they need; None when no flag asks for a subset.

    ``exists(kind, name)`` says whether the live account has the object: a reference to one that
    exists is resolved from the account (its id), one that does not is pulled in, so that apply
    creates it first.
    """
    if not targets and not tags:
        return None
    by_address = {r.address: r for r in resources}
    problems: list[str] = []
    chosen: dict[str, None] = {}
    for target in targets:
        if "/" not in target:
            problems.append(f"--target {target!r}: write it as Kind/name, e.g. Assistant/support-triage")
        elif target not in by_address:
            close = difflib.get_close_matches(target, list(by_address), n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            problems.append(f"--target {target}: no manifest defines it{hint}")
        else:
            chosen[target] = None
    for tag in tags:
        tagged = [r for r in resources if r.kind == "Assistant" and tag in (r.spec.get("tags") or [])]
        if not tagged:
            problems.append(f"--select-tag {tag}: no Assistant manifest has this tag")
        names = {r.name for r in tagged}
        for resource in resources:
            if resource in tagged or _owner(resource) in names:
                chosen[resource.address] = None
    if problems:
        raise ConfigError("; ".join(problems))
    pulled: dict[str, str] = {}
    waiting = list(chosen)
    while waiting:
        address = waiting.pop(0)
        resource = by_address[address]
        for ref in references(resource.kind, resource.spec):
            needed = f"{ref.kind}/{ref.name}"
            if (
                needed in by_address
                and needed not in chosen
                and needed not in pulled
                and not exists(ref.kind, ref.name)
            ):
                pulled[needed] = chosen_root(address, pulled)
                waiting.append(needed)
    keep = set(chosen) | set(pulled)
    return Subset(
        [r for r in resources if r.address in keep], tuple(a for a in by_address if a in chosen), pulled, len(resources)
    )


def chosen_root(address: str, pulled: dict[str, str]) -> str:
    """The chosen object a dependency (of a dependency …) was pulled in for."""
    while address in pulled:
        address = pulled[address]
    return address
