"""Apply order: levels, assistants that wait for new assistants, and cycles split into create + link."""

from __future__ import annotations

from reconciler.changes.change import Action, Change
from reconciler.changes.refs import Pending
from reconciler.engine.order import DELETE, LINK, arrange, waves

LEVELS = {"Tool": 0, "McpServer": 0, "Assistant": 1, "AssistantVersion": 2, "CanaryDeploy": 3}


def create(kind: str, name: str, body: dict[str, object], requires: tuple[str, ...] = ()) -> Change:
    """A create as the kind handlers plan it: staged at its kind's level."""
    return Change(Action.CREATE, kind, name, None, None, body, (), body, stage=(LEVELS[kind], 0), requires=requires)


def delete(kind: str, name: str) -> Change:
    return Change(Action.DELETE, kind, name, f"{kind.lower()}-1", {}, None, (), {}, stage=(LEVELS[kind], 0))


def handoff_to(*names: str) -> dict[str, object]:
    targets = [{"id": Pending("Assistant", n), "name": n} for n in names]
    return {"tools": [{"type": "handoff", "handoff": {"ai_assistants": targets}}, {"type": "hangup", "hangup": {}}]}


def test_levels_run_tools_before_assistants_before_canaries_and_deletes_last() -> None:
    changes = [create("CanaryDeploy", "c", {}), delete("Tool", "old"), create("Assistant", "a", {}),
               create("Tool", "t", {}), delete("CanaryDeploy", "x")]
    assert [(c.action.value, c.ref, c.stage) for c in arrange(changes)] == [
        ("create", "Tool/t", (0, 0)),
        ("create", "Assistant/a", (1, 0)),
        ("create", "CanaryDeploy/c", (3, 0)),
        ("delete", "CanaryDeploy/x", (DELETE - 3, 0)),
        ("delete", "Tool/old", (DELETE - 0, 0)),
    ]


def test_an_assistant_waits_for_the_new_assistant_it_hands_off_to() -> None:
    front = create("Assistant", "front", handoff_to("back"), requires=("Assistant/back",))
    back = create("Assistant", "back", {"instructions": "x"})
    arranged = arrange([front, back])
    assert [(c.ref, c.stage) for c in arranged] == [("Assistant/back", (1, 0)), ("Assistant/front", (1, 1))]
    assert [[c.ref for c in wave] for wave in waves(arranged)] == [["Assistant/back"], ["Assistant/front"]]


def test_a_cycle_is_created_without_handoffs_then_linked() -> None:
    a = create("Assistant", "a", {"instructions": "x", **handoff_to("b")}, requires=("Assistant/b",))
    b = create("Assistant", "b", {"instructions": "y", **handoff_to("a")}, requires=("Assistant/a",))
    arranged = arrange([a, b])
    assert [(c.action.value, c.ref, c.stage) for c in arranged] == [
        ("create", "Assistant/a", (1, 0)),
        ("create", "Assistant/b", (1, 0)),
        ("update", "Assistant/a#link", (1, LINK)),
        ("update", "Assistant/b#link", (1, LINK)),
    ]
    created_a, _, link_a, _ = arranged
    assert created_a.body == {"instructions": "x", "tools": [{"type": "hangup", "hangup": {}}]}
    assert created_a.requires == ()
    assert link_a.body == {"tools": handoff_to("b")["tools"]}
    assert link_a.live_id == Pending("Assistant", "a")
    assert link_a.requires == ("Assistant/a", "Assistant/b")


def test_an_assistant_handing_off_to_itself_is_linked_after_its_create() -> None:
    solo = create("Assistant", "solo", {"instructions": "x", **handoff_to("solo")}, requires=("Assistant/solo",))
    arranged = arrange([solo])
    assert [(c.ref, c.stage) for c in arranged] == [("Assistant/solo", (1, 0)), ("Assistant/solo#link", (1, LINK))]
    assert arranged[1].requires == ("Assistant/solo",)


def test_a_flow_pointing_at_a_new_assistant_in_a_cycle_moves_whole_to_the_link() -> None:
    flow = {"start_node_id": "n1", "nodes": [{"id": "n1", "instructions": "hi"}],
            "edges": [{"id": "e1", "start_node_id": "n1", "condition": {"type": "default"},
                       "target": {"type": "assistant", "assistant_id": Pending("Assistant", "b")}}]}
    a = create("Assistant", "a", {"instructions": "x", "conversation_flow": flow}, requires=("Assistant/b",))
    b = create("Assistant", "b", {"instructions": "y", **handoff_to("a")}, requires=("Assistant/a",))
    created_a = arrange([a, b])[0]
    assert "conversation_flow" not in created_a.body
    link_a = arrange([a, b])[2]
    assert link_a.body == {"conversation_flow": flow}
