"""The worklist's side reads, their SQL kept per key and process: `replayed_instances`
and `replayed_row`.

Besides its ranked page (navigator.worklist.compiled), every worklist request reads
whose cases make up the list, how many cases it holds and, on the page, the calls due
today. Django built and compiled each of those queries again on every request (a
few milliseconds of the request's Python), though their SQL and its values are the
same for every request with the same key: the user, their role, whose cases, the day
(everything the SQL or its values depend on). So the first request with a key runs
the query through the ORM as before and keeps the SQL and values it sent; later ones
send that SQL with those values (on PostgreSQL as prepared statements,
navigator.worklist.prepared) and read the answer as the ORM did.

What is kept is SQL, never rows or counts: every request runs the query, so a write
shows at once. The queries go through Django's cursor (counted, logged, seen by
execute wrappers, the audit trail's from_db included) as any query.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, TypeVar

from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import Model, QuerySet
from django.db.models.query import get_related_populators  # type: ignore[attr-defined]

from navigator.worklist.built import instance_maker, populator
from navigator.worklist.prepared import run_prepared

M = TypeVar("M", bound=Model)
T = TypeVar("T")

_CACHE_SIZE = 256


@dataclass(frozen=True)
class _Kept:
    using: str
    sql: str
    params: tuple[Any, ...]
    read: Callable[[list[tuple[Any, ...]], str], Any] | None = None


class _Local(threading.local):
    def __init__(self) -> None:
        self.entries: OrderedDict[Hashable, _Kept] = OrderedDict()


_CACHE = _Local()


def query_reader(queryset: QuerySet[Any]) -> tuple[Any, str, tuple[Any, ...], Any]:
    """The SQL of `queryset` and a function turning its raw rows into model instances,
    as Django's ModelIterable does (from_db's answer, select_related, annotations;
    navigator.worklist.built); and the
    compiler that compiled it."""
    db = queryset.db
    compiler = queryset.query.get_compiler(using=db)
    sql, params = compiler.as_sql()
    select, klass_info = compiler.select, compiler.klass_info
    annotations = list(compiler.annotation_col_map.items())
    model = klass_info["model"]
    start, end = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
    init_list = [column[0].target.attname for column in select[start:end]]
    populators = [populator(p) for p in get_related_populators(klass_info, select, db)]

    def read(raw: list[tuple[Any, ...]], using: str) -> list[Any]:
        compiler.connection = connections[using]
        make = instance_maker(model)  # per read: a signal receiver connected since counts
        cases = []
        seen: dict[Any, Any] = {}  # the related instances made in this read
        for row in compiler.results_iter([raw]):
            case = make(using, init_list, row[start:end])
            for populate in populators:
                populate(row, case, seen)
            for name, position in annotations:
                setattr(case, name, row[position])
            cases.append(case)
        return cases

    return compiler, sql, tuple(params), read


def _kept(key: Hashable) -> _Kept | None:
    entries = _CACHE.entries
    found = entries.get(key)
    if found is not None:
        entries.move_to_end(key)
    return found


def _keep(key: Hashable, kept: _Kept) -> None:
    entries = _CACHE.entries
    entries[key] = kept
    while len(entries) > _CACHE_SIZE:
        entries.popitem(last=False)


def _fetch(kept: _Kept) -> list[tuple[Any, ...]]:
    # Prepared on PostgreSQL: these small statements took longer to plan than to run.
    return run_prepared(kept.sql, kept.params, kept.using)


def replayed_instances(key: Hashable, build: Callable[[], QuerySet[M]]) -> list[M]:
    """`list(build())`: model instances with their select_related and annotations,
    built as Django's ModelIterable builds them. `key` must hold everything the
    queryset's SQL and values depend on, its database included."""
    key = ("instances", key)
    kept = _kept(key)
    if kept is None:
        queryset = build()
        try:
            _compiler, sql, params, read = query_reader(queryset)
        except EmptyResultSet:  # nothing can match: Django sends no query either
            return list(queryset)
        kept = _Kept(using=queryset.db, sql=sql, params=params, read=read)
        _keep(key, kept)
    if kept.read is None:  # pragma: no cover - rows' keys are apart ("instances")
        raise LookupError(key)
    return kept.read(_fetch(kept), kept.using)


def replayed_row(
    key: Hashable, *, using: str, run: Callable[[], T], read: Callable[[tuple[Any, ...]], T]
) -> T:
    """`run()`, an aggregate that sends one query and reads its one row; after the first
    time for `key`, that query's SQL and values sent again and its row read by `read`
    (which must answer as `run` does: an agreement test holds each caller's two equal).
    `key` must hold everything the SQL and values depend on, `using` included."""
    key = ("row", key)
    kept = _kept(key)
    if kept is not None:
        rows = _fetch(kept)
        return read(rows[0])
    sent: list[tuple[str, tuple[Any, ...]]] = []

    def capture(execute, sql, params, many, context):
        sent.append((sql, tuple(params or ())))
        return execute(sql, params, many, context)

    with connections[using].execute_wrapper(capture):
        answer = run()
    if len(sent) == 1:  # else (none, when nothing can match; or more) not kept
        _keep(key, _Kept(using=using, sql=sent[0][0], params=sent[0][1]))
    return answer
