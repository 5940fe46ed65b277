"""`insert_many` writes what a plain executemany would, converting shared values once."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import JSON, Column, Integer, MetaData, String, Table, create_engine, select

from laotie.db.base import UTCDateTime
from laotie.db.bulk import insert_many

metadata = MetaData()
things = Table(
    "things",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(20)),
    Column("made_at", UTCDateTime),
    Column("data", JSON),
    Column("count", Integer, default=0),
)


def _rows(when: datetime) -> list[dict[str, Any]]:
    shared = {"colour": "red"}
    return [{"name": f"n{i}", "made_at": when, "data": shared, "count": i} for i in range(3)]


def test_rows_read_back_as_written_with_their_types() -> None:
    engine = create_engine("sqlite://")
    metadata.create_all(engine)
    when = datetime(2026, 11, 25, 12, 30, 1, 5, tzinfo=UTC)
    with engine.begin() as connection:
        insert_many(connection, things, _rows(when))
        insert_many(connection, things, [])
        read = connection.execute(select(things).order_by(things.c.id)).all()
    assert [(r.name, r.made_at, r.data, r.count) for r in read] == [
        (f"n{i}", when, {"colour": "red"}, i) for i in range(3)
    ]


def test_a_column_with_a_default_must_be_given() -> None:
    engine = create_engine("sqlite://")
    metadata.create_all(engine)
    rows = [{"name": "n", "made_at": datetime.now(UTC), "data": {}}]
    with engine.begin() as connection, pytest.raises(ValueError, match="count"):
        insert_many(connection, things, rows)
