"""FHIR Bulk Data, PostgreSQL inserts fed by one jsonb document (`rows_insert`).

`bulk_create` on PostgreSQL builds a model instance per row, compiles every value,
then sends each column as an array that psycopg quotes element by element: for a
batch of simple rows that costs several times what the database spends inserting
them. Here the rows' values, prepared by each field exactly as `bulk_create`
prepares them (`get_db_prep_save`, after `pre_save` for instances), travel as one
JSON array of arrays into `INSERT ... SELECT ... FROM jsonb_array_elements`: one
statement, the same rows, the same constraints and triggers.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Collection, Sequence
from typing import Any

from django.db import connection, models

# How a value read back from JSON text is cast before it is assigned to its column.
# Casts to the base type only: a varchar(n) column's own assignment then refuses a
# value too long, as bulk_create's insert does (an explicit varchar(n) cast would cut it).
_CASTS = {
    "AutoField": "integer",
    "BigAutoField": "bigint",
    "BigIntegerField": "bigint",
    "BooleanField": "boolean",
    "CharField": "text",
    "DateField": "date",
    "DateTimeField": "timestamptz",
    "EmailField": "text",
    "IntegerField": "integer",
    "PositiveIntegerField": "integer",
    "PositiveSmallIntegerField": "smallint",
    "SmallIntegerField": "smallint",
    "TextField": "text",
}


def _cast(field: models.Field[Any, Any]) -> str:
    if isinstance(field, models.ForeignKey):
        return _cast(field.target_field)
    cast = _CASTS.get(field.get_internal_type())
    if cast is None:
        # Never guess a conversion: a field of another kind is added here first.
        raise TypeError(f"rows_insert: no cast for {type(field).__name__} ({field.name})")
    return cast


def _json_value(value: Any) -> Any:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


# Field classes (exactly these, not subclasses: a PhoneNumberField is a CharField) whose
# get_db_prep_save on PostgreSQL returns a value of these exact types, or None, as it
# is: their get_prep_value is to_python (identity for these types), and PostgreSQL's
# adapt_*_value return the value. Any other value goes through the field. Why: the
# field's own path costs ~3 µs a value, most of a new patient's row (~30 columns).
_UNCHANGED: dict[type[models.Field[Any, Any]], type] = {
    models.CharField: str,
    models.TextField: str,
    models.EmailField: str,
    models.BooleanField: bool,
    models.IntegerField: int,
    models.SmallIntegerField: int,
    models.BigIntegerField: int,
    models.PositiveIntegerField: int,
    models.PositiveSmallIntegerField: int,
    models.AutoField: int,
    models.BigAutoField: int,
    models.DateField: dt.date,
}


def _preparer(field: models.Field[Any, Any]) -> Callable[[Any], Any]:
    """value → what `_json_value(field.get_db_prep_save(value, connection))` gives."""

    def general(value: Any) -> Any:
        return _json_value(field.get_db_prep_save(value, connection))

    if connection.vendor != "postgresql":
        return general
    target = field.target_field if isinstance(field, models.ForeignKey) else field
    kind = _UNCHANGED.get(type(target))
    if kind is not None:

        def plain(value: Any) -> Any:
            if value is None:
                return None
            if type(value) is not kind:
                return general(value)
            return value.isoformat() if isinstance(value, dt.date) else value

        return plain
    if type(target) is models.DateTimeField:

        def moment(value: Any) -> Any:
            if value is None:
                return None
            # Aware: get_prep_value makes a naive one aware (with a warning): not here.
            if type(value) is dt.datetime and value.utcoffset() is not None:
                return value.isoformat()
            return general(value)

        return moment
    return general


def rows_insert(
    model: type[models.Model],
    field_names: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    returning: bool = False,
    prepared: Collection[str] = (),
) -> list[int]:
    """Insert `rows` (each the values of `field_names`, in order) in one statement;
    the new rows' primary keys in the rows' order when `returning`. PostgreSQL only.
    Values are converted by their fields as bulk_create converts them, but for the
    fields named in `prepared`, whose values the caller passes already in the form
    the field's get_db_prep_save gives them (and JSON can carry)."""
    if not rows:
        return []
    meta = model._meta
    fields = [meta.get_field(name) for name in field_names]
    concrete = [f for f in fields if isinstance(f, models.Field) and f.concrete]
    if len(concrete) != len(fields):
        raise TypeError("rows_insert: only concrete fields can be inserted")
    preparers = [None if f.name in prepared else _preparer(f) for f in concrete]
    document = json.dumps(
        [
            [
                value if prepare is None else prepare(value)
                for prepare, value in zip(preparers, row, strict=True)
            ]
            for row in rows
        ],
        separators=(",", ":"),
    )
    columns = ", ".join(f'"{f.column}"' for f in concrete)
    values = ", ".join(f"(e ->> {i})::{_cast(f)}" for i, f in enumerate(concrete))
    sql = (
        f'INSERT INTO "{meta.db_table}" ({columns}) SELECT {values} '  # noqa: S608 - names from the model, values bound
        "FROM jsonb_array_elements(%s::jsonb) WITH ORDINALITY AS t(e, n) ORDER BY n"
    )
    if returning:
        sql += f' RETURNING "{meta.pk.column}"'
    with connection.cursor() as cursor:
        cursor.execute(sql, [document])
        return [row[0] for row in cursor.fetchall()] if returning else []


def instances_insert(objs: Sequence[models.Model]) -> None:
    """New instances of one model inserted in one statement, their primary keys set,
    as `bulk_create` does (auto_now/auto_now_add filled by `pre_save`; no signals)."""
    if not objs:
        return
    meta = type(objs[0])._meta
    fields = [f for f in meta.concrete_fields if f is not meta.pk]
    rows = [[f.pre_save(obj, True) for f in fields] for obj in objs]
    keys = rows_insert(type(objs[0]), [f.name for f in fields], rows, returning=True)
    for obj, key in zip(objs, keys, strict=True):
        obj.pk = key
        obj._state.adding = False
        obj._state.db = connection.alias
