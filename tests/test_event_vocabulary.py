"""The order event kinds and room event types are spelled once, and docs/events.md lists them."""

from __future__ import annotations

import inspect
import re
from pathlib import Path
from typing import Any

from laotie.live.events import RoomEventType
from laotie.live.room.state import _HANDLERS, apply, empty_state
from laotie.orders import events
from laotie.orders.events import NewOrderEvent, OrderEventKind

DOC = Path(__file__).resolve().parents[1] / "docs" / "events.md"
_SAMPLES: dict[str, Any] = {"str": "x", "str | None": "x", "int": 1, "bool": True}


def _table_rows(heading: str) -> dict[str, str]:
    """Return the rows of the table under a heading, by their first cell."""
    section = DOC.read_text().split(f"## {heading}", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if line.startswith("| `") and len(cells) >= 3:
            rows[cells[0].strip("`")] = line
    return rows


def _made(kind: OrderEventKind) -> NewOrderEvent:
    constructor = getattr(events, kind.value)
    arguments = [
        _SAMPLES[str(parameter.annotation)]
        for parameter in inspect.signature(constructor).parameters.values()
    ]
    made: NewOrderEvent = constructor(*arguments)
    return made


def test_every_order_event_kind_has_its_constructor_and_its_documented_fields() -> None:
    rows = _table_rows("Order event kinds")
    assert set(rows) == {kind.value for kind in OrderEventKind}
    for kind in OrderEventKind:
        event = _made(kind)
        assert event.kind is kind
        documented = set(re.findall(r"`(\w+)`", rows[kind.value].split("|")[3]))
        assert set(event.data) <= documented, kind
        row = event.row("ord_x", None)  # type: ignore[arg-type]
        assert set(row) == {"order_id", "kind", "actor_id", "data", "created_at"}


def test_every_room_event_type_is_reduced_and_documented() -> None:
    rows = _table_rows("Room event types")
    assert set(rows) == {kind.value for kind in RoomEventType}
    assert set(_HANDLERS) == set(RoomEventType)
    state = empty_state()
    assert apply(state, RoomEventType.LIKES, {"total": 3})["likes"] == 3
    assert apply(state, "no_such_type", {}) == state


def test_no_order_event_kind_is_written_as_a_bare_string() -> None:
    source = Path(events.__file__).parent
    kinds = "|".join(kind.value for kind in OrderEventKind)
    for path in source.glob("*.py"):
        if path.name == "events.py":
            continue
        text = path.read_text()
        assert not re.search(rf'record\([^)]*"({kinds})"', text), path
        assert not re.search(rf'"kind":\s*"({kinds})"', text), path
