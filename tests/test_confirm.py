"""After an ambiguous write, apply reads the object back and compares it with what the write
wanted. That comparison must read the wanted fields the way ``comparable`` reads live ones."""

from __future__ import annotations

from reconciler.changes.change import Action, Change
from reconciler.changes.refs import IdIndex, Pending
from reconciler.kinds.base import confirm_desired


def test_tool_ids_created_in_the_same_apply_are_sorted_with_the_known_ones() -> None:
    """Planned tool_ids put ids known only after apply last; filled in, they must sort like live ones.

    Before, a candidate version whose answer was lost compared ``[known, new-b, new-a]`` with the
    sorted ids read back, looked undone, and was written a second time (a second version).
    """
    ids = IdIndex.of({("Tool", "lookup"): "tool-b", ("Tool", "notify"): "tool-a"})
    after = {"instructions": "x", "tool_ids": ["tool-c", Pending("Tool", "lookup"), Pending("Tool", "notify")]}
    change = Change(Action.CREATE, "AssistantVersion", "alpha@candidate", "assistant-1", None, after, (), after)
    assert confirm_desired(change, ids) == {"instructions": "x", "tool_ids": ["tool-a", "tool-b", "tool-c"]}
    assert after["tool_ids"][0] == "tool-c"  # the planned change itself is left as it was
