"""The worklist's kept SQL runs as prepared statements on PostgreSQL
(navigator/worklist/prepared.py): the ranked page and its side reads (whose cases,
the count, the calls due today) are each planned once per connection, not on every
request, and still answer as the ORM does (tests/navigator/test_worklist_replayed.py).

The clock stands still at 2 pm in Boston on Tuesday 24 November 2026.
"""

from __future__ import annotations

import pytest
from django.db import connection

from navigator.selectors.worklist import worklist_calls_today, worklist_cases, worklist_navigators
from navigator.worklist import prepared
from navigator.worklist.rules import Moment
from tests.navigator.test_worklist import NOW
from tests.navigator.test_worklist_morning import due_case

pytestmark = [pytest.mark.django_db, pytest.mark.frozen_clock(NOW)]


def _prepared_statements() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements WHERE NOT from_sql")
        return {statement for (statement,) in cursor.fetchall()}


def _read_the_worklist(user) -> None:
    moment = Moment.current()
    whose = worklist_navigators(user=user, on=moment.today)
    cases = worklist_cases(user=user, navigators=whose, moment=moment)
    cases.count()
    list(cases[0:50])
    worklist_calls_today(user=user, navigators=whose, caller=user, moment=moment)


def test_the_second_request_prepares_each_of_its_worklist_reads(require_postgres, navigator):
    # Given a navigator with a case, whose worklist was read once (the SQL kept)
    due_case(navigator)
    _read_the_worklist(navigator.user)
    # When it is read again
    sent: list[str] = []

    def capture(execute, sql, params, many, context):
        sent.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(capture):
        _read_the_worklist(navigator.user)
    # Then each of its reads (whose cases, how many, the page of rows, the calls today)
    # ran as a statement prepared on this connection, and is listed as prepared for
    # the bench (psycopg sends $1, $2 for the %s Django writes)
    assert len(sent) == 4
    statements = _prepared_statements()
    for sql in sent:
        assert sql in prepared.prepared_sql()
        numbered = sql
        for number in range(1, sql.count("%s") + 1):
            numbered = numbered.replace("%s", f"${number}", 1)
        assert numbered.replace("%%", "%") in statements, sql[:80]


def test_a_prepared_read_sees_a_write_made_since(require_postgres, navigator):
    # Given a navigator's worklist read twice (kept, then prepared)
    due_case(navigator)
    _read_the_worklist(navigator.user)
    _read_the_worklist(navigator.user)
    moment = Moment.current()
    whose = worklist_navigators(user=navigator.user, on=moment.today)
    before = worklist_cases(user=navigator.user, navigators=whose, moment=moment).count()
    # When another case comes in
    due_case(navigator)
    # Then the prepared count says so: a plan is kept, never an answer
    after = worklist_cases(user=navigator.user, navigators=whose, moment=moment).count()
    assert after == before + 1


def test_each_statement_is_converted_for_psycopg_once_however_long(
    require_postgres, navigator, monkeypatch
):
    # Given a navigator's worklist, and psycopg's conversion of `%s` to `$n` counted
    due_case(navigator)
    prepared._CONVERTED.clear()  # noqa: SLF001 - the test empties the process's cache
    converted: list[bytes] = []
    convert = prepared._query2pg_nocache  # noqa: SLF001

    def counted(query, encoding):
        converted.append(query)
        return convert(query, encoding)

    monkeypatch.setattr(prepared, "_query2pg_nocache", counted)

    # When it is read three times
    for _ in range(3):
        _read_the_worklist(navigator.user)

    # Then each prepared statement, the ranked page's (past psycopg's 4 kB) included, was
    # converted once, not on every read
    assert converted
    assert len(converted) == len(set(converted))
    assert max(len(query) for query in converted) > 4096
