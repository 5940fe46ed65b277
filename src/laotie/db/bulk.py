"""Many rows at once: inserting them for writers that batch (a flash sale's orders), and
naming many ids in reads that SQLite's parameter cap would refuse.

SQLAlchemy's executemany converts every value of every row through its column type on
each call (datetimes to text on SQLite, dicts to JSON), and at thousands of rows a second
that costs more than SQLite's own work. Rows of one batch repeat most of those values
(the batch's time, the SKU's attributes), so `insert_many` compiles the INSERT once,
converts each distinct value once, and hands the driver ready rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Table, insert
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

# Ids named in one statement at most: SQLite caps a statement's parameters.
IDS_PER_STATEMENT = 1_000


def id_chunks(ids: Iterable[str]) -> list[list[str]]:
    """Split ids (each once, sorted, so that two readers lock in one order) into lists
    that one statement can hold."""
    wanted = sorted(set(ids))
    step = IDS_PER_STATEMENT
    return [wanted[start : start + step] for start in range(0, len(wanted), step)]


def insert_many(connection: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert rows that all have the same keys, in one executemany of driver-ready values.

    Every column with a default must be given: the defaults are not filled in here.
    """
    if not rows:
        return
    dialect = connection.dialect
    compiled = insert(table).compile(dialect=dialect, column_keys=list(rows[0]))
    names = list(compiled.positiontup or ()) if compiled.positional else list(compiled.binds)
    missing = set(names) - set(rows[0])
    if missing:
        raise ValueError(f"insert_many into {table.name} needs values for {sorted(missing)}")
    convert = {name: _converter(table.c[name].type.bind_processor(dialect)) for name in names}
    if compiled.positional:
        params: list[Any] = [tuple(convert[n](row[n]) for n in names) for row in rows]
    else:
        params = [{n: convert[n](row[n]) for n in names} for row in rows]
    connection.exec_driver_sql(compiled.string, params)


def _converter(process: Callable[[Any], Any] | None) -> Callable[[Any], Any]:
    """Return the type's conversion, remembering the last value seen (rows repeat them)."""
    if process is None:
        return _same
    last: list[Any] = [_NOTHING, None]

    def convert(value: Any) -> Any:
        if value is not last[0]:
            last[0], last[1] = value, process(value)
        return last[1]

    return convert


def _same(value: Any) -> Any:
    return value


_NOTHING = object()


def dialect_insert(dialect: str, table: Any) -> Any:
    """Return the dialect's INSERT, which knows ON CONFLICT (DO NOTHING, DO UPDATE)."""
    return postgresql_insert(table) if dialect == "postgresql" else sqlite_insert(table)
