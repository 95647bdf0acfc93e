"""Insert many new model instances at once: `bulk_create`'s result, by COPY on PostgreSQL.

`objects_copy` saves unsaved instances of one model as `bulk_create` would (no
`save()`, no signals; the same column values, `auto_now` fields set, foreign keys
taken from related objects saved since), and sets their primary keys. On PostgreSQL
it reserves the keys from the table's sequence in one query and sends the rows with
COPY: for a thousand wide rows, `bulk_create` spends several times longer building
its statement and dumping its parameters in Python than the database spends on them.
`rows_copy` takes plain rows of values instead of instances, for rows nobody reads
back (a case's events). Triggers (the audit trail's, per statement with transition
tables) fire for COPY as for INSERT.
Other databases (the embedded SQLite default) get `bulk_create` itself.

Django's PostgreSQL debug cursor logs a COPY as one query (query-count tests see it).
"""

from __future__ import annotations

import operator
from collections.abc import Collection, Sequence
from typing import Any

from django.db import connections, models, router
from django.utils import timezone

# Django's own fields whose Python value psycopg adapts as Django would (no
# get_db_prep_save per value).
PLAIN_TYPES = frozenset(
    {
        "AutoField",
        "BigAutoField",
        "BigIntegerField",
        "BooleanField",
        "CharField",
        "DateField",
        "DateTimeField",
        "EmailField",
        "IntegerField",
        "PositiveBigIntegerField",
        "PositiveIntegerField",
        "PositiveSmallIntegerField",
        "SmallIntegerField",
        "TextField",
    }
)


def objects_copy(objs: Sequence[models.Model], *, set_pks: bool = True) -> None:
    """Insert `objs` (new instances of one concrete model, no parents) in one go.

    `set_pks=False`: the caller never reads the new rows' keys, so none are reserved
    (the column default numbers them; the instances keep `pk=None`) on PostgreSQL."""
    if not objs:
        return
    model = type(objs[0])
    meta = model._meta
    connection = connections[router.db_for_write(model)]
    pk = meta.pk
    if connection.vendor != "postgresql" or meta.parents or pk is None:
        model._default_manager.bulk_create(objs)
        return
    fields = [f for f in meta.concrete_fields if f is not pk]
    columns = [f.column for f in fields]
    need_pks = [obj for obj in objs if obj.pk is None] if set_pks else []
    table = connection.ops.quote_name(meta.db_table)
    with connection.cursor() as cursor:
        if need_pks:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [meta.db_table, pk.column, len(need_pks)],
            )
            for obj, (value,) in zip(need_pks, sorted(cursor.fetchall()), strict=True):
                obj.pk = value
        with_pk = set_pks or all(obj.pk is not None for obj in objs)
        if with_pk:
            fields = [pk, *fields]
            columns = [pk.column, *columns]
        rows = _rows(objs, fields, connection)
        sql = "COPY {} ({}) FROM STDIN".format(
            table, ", ".join(connection.ops.quote_name(c) for c in columns)
        )
        with cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row(row)
    for obj in objs:
        obj._state.adding = False
        obj._state.db = connection.alias


def rows_copy(
    model: type[models.Model],
    names: Sequence[str],
    rows: Sequence[Sequence[object]],
    *,
    prepared: Collection[str] = (),
) -> None:
    """Insert new rows of `model` given as the values of its fields `names` (attnames; the
    other fields take their defaults), whose keys nobody reads: `objects_copy` without an
    instance per row on PostgreSQL (building one costs more than sending its row).

    `prepared`: fields whose values the caller gives as the field would prepare them for
    the database (a phone number already checked and in the stored format), sent as
    they are rather than prepared again row by row."""
    if not rows:
        return
    connection = connections[router.db_for_write(model)]
    meta = model._meta
    if connection.vendor != "postgresql" or meta.parents:
        objects_copy([model(**dict(zip(names, row, strict=True))) for row in rows])
        return
    by_name = {field.attname: field for field in meta.concrete_fields}
    given = [by_name[name] for name in names]
    others = [f for f in meta.concrete_fields if f is not meta.pk and f.attname not in names]
    now = timezone.now()
    defaults = [
        f.get_db_prep_save(now if _kind(f) == "now" else f.get_default(), connection)
        for f in others
    ]
    to_prepare = [
        (i, f) for i, f in enumerate(given) if _kind(f) == "prepare" and f.attname not in prepared
    ]
    sql = "COPY {} ({}) FROM STDIN".format(
        connection.ops.quote_name(meta.db_table),
        ", ".join(connection.ops.quote_name(f.column) for f in [*given, *others]),
    )
    with connection.cursor() as cursor, cursor.copy(sql) as copy:
        for row in rows:
            values = list(row)
            for index, field in to_prepare:
                values[index] = field.get_db_prep_save(values[index], connection)
            copy.write_row(values + defaults)


def _kind(field: models.Field) -> str:
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return "now"
    if field.is_relation:
        return "relation"
    # A subclass (a phone number field is a CharField) may prepare its value its own way.
    plain = type(field).__name__ in PLAIN_TYPES and type(field).__module__.startswith(
        "django.db.models."
    )
    return "plain" if plain else "prepare"


def _rows(
    objs: Sequence[models.Model], fields: list[models.Field], connection: Any
) -> list[list[object]]:
    """The rows' values as `bulk_create` would send them. Plain values are read from
    each instance's `__dict__` in one C call; only the few fields that need more (auto
    timestamps, keys of related objects saved since, JSON) are looked at one by one.
    (psycopg sends a text or integer choice as its value.)"""
    fetch = operator.itemgetter(*[field.attname for field in fields])
    special = [(i, f, kind) for i, f in enumerate(fields) if (kind := _kind(f)) != "plain"]
    single = len(fields) == 1
    rows = []
    for obj in objs:
        fetched = fetch(obj.__dict__)
        values = [fetched] if single else list(fetched)
        for index, field, kind in special:
            if kind == "now":
                values[index] = field.pre_save(obj, add=True)
            elif kind == "relation":
                related = obj._state.fields_cache.get(field.name)
                if values[index] is None and related is not None:
                    # Related to an object saved after this one was built: its key now.
                    values[index] = related.pk
                    setattr(obj, field.attname, related.pk)
            else:
                values[index] = field.get_db_prep_save(values[index], connection)
        rows.append(values)
    return rows
