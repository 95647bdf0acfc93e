"""The worklist, at health-system scale: its SQL, that SQL alone in pgbench, and the
app under load (gunicorn on loopback, wrk) beside it (issue 15, items 3 and 5).

`python -m tests.benchmarks.worklist [--scale small]`. It fills the database with
`total` cases (200,000; small: 20,000) with their attempts, appointments, barriers,
results and reminders, gives one navigator 300 open cases spread across every
worklist reason, and then measures, in the same run:

(a) the worklist's own SQL (whose cases, how many, the ranked page of 50), each
    query under EXPLAIN (ANALYZE, BUFFERS) as the app runs it (the rows query as
    EXECUTE of the statement the app prepared, on the generic plan; the others as
    literal SQL): the median over RUNS of planning plus execution, summed over the
    queries; and, for comparison, every query as literal SQL planned each time;
(b) the floor: pgbench running every query one API request makes (the exact SQL
    with its parameters, the token check and the audit write included), at 1 and 32
    clients (`-j 2`, the machine's two cores);
(c) the app: gunicorn (config/gunicorn_conf.py, DEBUG off, production settings
    behind a TLS-terminating proxy, i.e. `X-Forwarded-Proto: https`) on loopback with
    WORKERS sync workers, and wrk at 1 and 32 connections against /api/worklist/
    (a knox token from POST /api/auth/token/) and /worklist/ (the session cookie of a
    real sign-in on the sign-in page, with its CSRF token): median, p95 (wrk's Lua
    `done()`), requests/s;
and the queries a page and an API request make (deterministic: CI compares them).

Workers: four sync workers on two cores. A request is CPU in Python plus waits on
PostgreSQL (same machine); two workers per core keep the cores busy while one waits,
without the context switching and memory of more. The worker count is WEB_CONCURRENCY
as in production (BENCH_WORKLIST_WORKERS overrides it here).
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from tests.benchmarks.harness import ROOT, Figure, PartResult, Scale, database_url, standalone
from tests.benchmarks.worklist_data import worklist_data

PASSWORD = "bench-worklist-not-a-secret-1"  # noqa: S105 - a bench-only account
WORKERS = int(os.environ.get("BENCH_WORKLIST_WORKERS") or 4)
PGBENCH = os.environ.get("PGBENCH", "/usr/bin/pgbench")
WRK = os.environ.get("WRK", "wrk")
PROXY = {"X-Forwarded-Proto": "https"}
SQL_TARGET_MS = 5.0
P95_TARGET_MS = {"api": 300.0, "page": 500.0}
THROUGHPUT_SHARE = 0.5

# --- (a) the SQL and (b) its floor ----------------------------------------------------


def _captured(run) -> list[tuple[str, object]]:
    """Every query `run()` makes, as (sql, params)."""
    from django.db import connection

    seen: list[tuple[str, object]] = []

    def wrapper(execute, sql, params, many, context):
        seen.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        run()
    return seen


def _literal(sql: str, params) -> str:
    """The query with its parameters bound, as PostgreSQL would receive it."""
    from django.db import connection

    return connection.ops.compose_sql(sql, params)


def _summary(plan, times, planning, execution, sql: str, how: str) -> dict[str, object]:
    top = plan[0]["Plan"]
    return {
        "sql": sql[:160],
        "as": how,
        "median_ms": round(statistics.median(times), 2),
        "planning_ms": round(statistics.median(planning), 2),
        "execution_ms": round(statistics.median(execution), 2),
        "rows": top.get("Actual Rows"),
        "shared_hit_blocks": top.get("Shared Hit Blocks"),
        "shared_read_blocks": top.get("Shared Read Blocks"),
        "jit": "JIT" in plan[0],
    }


def _explain_runs(cursor, explain: str, runs: int):
    """EXPLAIN ANALYZE `explain` RUNS times: (last plan, totals, planning, execution)."""
    times, planning, execution = [], [], []
    plan = None
    for _ in range(runs):
        cursor.execute(explain)
        plan = cursor.fetchone()[0]
        plan = json.loads(plan) if isinstance(plan, str) else plan
        planning.append(plan[0]["Planning Time"])
        execution.append(plan[0]["Execution Time"])
        times.append(planning[-1] + execution[-1])
    return plan, times, planning, execution


def _server_sql(sql: str) -> str:
    """`sql` as psycopg sends it with server-side binding ($1, $2, ...), as
    pg_prepared_statements shows it."""
    count = 0

    def number(match: re.Match[str]) -> str:
        nonlocal count
        if match.group(0) == "%%":
            return "%"
        count += 1
        return f"${count}"

    return re.sub(r"%%|%s", number, sql)


def _untimed_ms(cursor, statement: str, runs: int) -> float:
    """Median planning + execution of `statement` under EXPLAIN (ANALYZE, TIMING OFF):
    the statement's own run time, without the clock reads that per-node timing adds
    around every node and every subplan call ("the overhead of repeatedly reading the
    system clock can slow down the query significantly", PostgreSQL's EXPLAIN docs;
    the run time of the entire statement is still measured)."""
    _, times, _, _ = _explain_runs(
        cursor, f"EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) {statement}", runs
    )
    return statistics.median(times)


def _explain_ms(
    captured: list[tuple[str, object]], prepared: frozenset[str], runs: int
) -> tuple[float, float, float, list[dict[str, object]]]:
    """The request's queries, each the median of planning + execution over RUNS,
    summed; three times: (1) as the app runs them (the statements in `prepared` as
    EXECUTE of the very statement the app prepared on this connection, on the generic
    plan: no planning but the plan cache's look-up; the others as the literal SQL
    Django sends, planned each time), under EXPLAIN (ANALYZE, TIMING OFF); (2) the
    same under EXPLAIN (ANALYZE, BUFFERS), whose per-node timing adds its own cost (as
    runs before 2026-12-05 measured it); (3) every query as literal SQL, planned each
    time (as pgbench's floor runs them). And each plan's summary, from (2) and (3)."""
    from django.db import connection

    as_run = as_run_timed = literal = 0.0
    plans: list[dict[str, object]] = []
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, statement FROM pg_prepared_statements WHERE NOT from_sql")
        names = {statement: name for name, statement in cursor.fetchall()}
        for sql, params in captured:
            text = _literal(sql, params)
            found = _explain_runs(cursor, "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + text, runs)
            plans.append(_summary(*found, sql=text, how="literal SQL, planned each time"))
            literal += statistics.median(found[1])
            if sql not in prepared:
                as_run_timed += statistics.median(found[1])
                as_run += _untimed_ms(cursor, text, runs)
                continue
            name = names.get(_server_sql(sql))
            if name is None:
                raise RuntimeError(
                    "A statement the app prepares is not prepared on this connection."
                )
            values = connection.ops.compose_sql(", ".join(["%s"] * len(params)), params)
            execute = f"EXECUTE {name}({values})"
            found = _explain_runs(
                cursor, f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {execute}", runs
            )
            plans.append(_summary(*found, sql=text, how="EXECUTE of the app's prepared statement"))
            as_run_timed += statistics.median(found[1])
            as_run += _untimed_ms(cursor, execute, runs)
        cursor.execute(
            "SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE NOT from_sql"
        )
        plans.append({"prepared_generic_and_custom_plans": cursor.fetchall()})
    return as_run, as_run_timed, literal, plans


def _pgbench(script: Path, clients: int, seconds: int) -> float:
    """Transactions (one API request's queries) per second, pgbench of the script."""
    from dj_database_url import parse

    config = parse(database_url())
    env = {**os.environ, "PGPASSWORD": config["PASSWORD"] or ""}
    command = [
        PGBENCH, "-n", "-f", str(script), "-c", str(clients), "-j", str(min(clients, 2)),
        "-T", str(seconds), "-h", config["HOST"] or "127.0.0.1", "-p", str(config["PORT"] or 5432),
        "-U", config["USER"] or "postgres", config["NAME"],
    ]  # fmt: skip
    out = subprocess.run(  # noqa: S603 - our own command line
        command, env=env, capture_output=True, text=True, check=True
    ).stdout
    match = re.search(r"tps = ([\d.]+)", out)
    if match is None:  # pragma: no cover - pgbench always prints it
        raise RuntimeError(f"pgbench printed no tps: {out[-500:]}")
    return float(match.group(1))


# --- (c) the app under load -----------------------------------------------------------


_LUA = """
done = function(summary, latency, requests)
  io.write(string.format(
    'WRKJSON {"requests": %d, "duration_us": %d, "p50_us": %d, "p95_us": %d, '
    .. '"p99_us": %d, "status_errors": %d, "socket_errors": %d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.timeout))
end
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """gunicorn on loopback with the production settings; always stopped (its whole
    process group), even when the bench fails or is interrupted."""

    def __init__(self, workers: int) -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "DATABASE_URL": database_url(),
            "DEBUG": "0",
            "WEB_CONCURRENCY": str(workers),
            # Behind a TLS-terminating proxy, as deployed: it says the request was https.
            "SECURE_PROXY_SSL_HEADER": "X-Forwarded-Proto",
            "PYTHONPATH": str(ROOT),
        }
        gunicorn = Path(sys.executable).with_name("gunicorn")
        self.process = subprocess.Popen(  # noqa: S603 - our own command line
            [str(gunicorn), "-c", "config/gunicorn_conf.py", "--bind", f"127.0.0.1:{self.port}",
             "config.wsgi:application"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
        atexit.register(self.stop)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("gunicorn exited at start")
            with contextlib.suppress(OSError):  # not listening yet, or still booting
                if self.request("/accounts/login/")[0] == 200:
                    return
            time.sleep(0.3)
        self.stop()
        raise RuntimeError("gunicorn did not answer within 120 s")

    def stop(self) -> None:
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=20)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def request(self, path: str, *, data: bytes | None = None, headers=None):
        """One request, redirects not followed: (status, headers, body)."""

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args, **kwargs):
                return None

        opener = urllib.request.build_opener(NoRedirect)
        req = urllib.request.Request(  # noqa: S310 - loopback
            self.base + path, data=data, headers={**PROXY, **(headers or {})}
        )
        try:
            with opener.open(req, timeout=30) as response:
                return response.status, response.headers, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.headers, error.read()


def _cookies(headers) -> dict[str, str]:
    found = {}
    for value in headers.get_all("Set-Cookie") or []:
        name, _, rest = value.partition("=")
        found[name.strip()] = rest.split(";", 1)[0]
    return found


def sign_in(server: Server, username: str) -> str:
    """A real sign-in on the sign-in page (CSRF token and all): the Cookie header."""
    status, headers, body = server.request("/accounts/login/")
    cookies = _cookies(headers)
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body)
    if status != 200 or token is None:
        raise RuntimeError(f"sign-in page answered {status}")
    form = urllib.parse.urlencode(
        {"username": username, "password": PASSWORD, "csrfmiddlewaretoken": token.group(1).decode()}
    ).encode()
    status, headers, _ = server.request(
        "/accounts/login/",
        data=form,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": f"csrftoken={cookies['csrftoken']}",
            "Referer": f"https://127.0.0.1:{server.port}/accounts/login/",
        },
    )
    session = _cookies(headers).get("sessionid")
    if status != 302 or not session:
        raise RuntimeError(f"sign-in answered {status}")
    return f"sessionid={session}"


def api_token(server: Server, username: str) -> str:
    body = json.dumps({"username": username, "password": PASSWORD}).encode()
    status, _, answer = server.request(
        "/api/auth/token/", data=body, headers={"Content-Type": "application/json"}
    )
    if status != 200:
        raise RuntimeError(f"token endpoint answered {status}")
    return json.loads(answer)["token"]


def wrk(url: str, headers: dict[str, str], *, connections: int, seconds: int) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(_LUA)
    try:
        command = [WRK, "-t", str(min(connections, 2)), "-c", str(connections),
                   "-d", f"{seconds}s", "--timeout", "30s", "-s", script.name]  # fmt: skip
        for name, value in {**PROXY, **headers}.items():
            command += ["-H", f"{name}: {value}"]
        out = subprocess.run(  # noqa: S603 - our own command line
            [*command, url], capture_output=True, text=True, check=True, timeout=seconds + 60
        ).stdout
    finally:
        os.unlink(script.name)
    line = next(line for line in out.splitlines() if line.startswith("WRKJSON "))
    raw = json.loads(line.removeprefix("WRKJSON "))
    if raw["status_errors"] or raw["socket_errors"]:
        raise RuntimeError(f"wrk saw errors against {url}: {raw}")
    return {
        "requests": raw["requests"],
        "requests_per_second": round(raw["requests"] / (raw["duration_us"] / 1e6), 1),
        "median_ms": round(raw["p50_us"] / 1000, 1),
        "p95_ms": round(raw["p95_us"] / 1000, 1),
        "p99_ms": round(raw["p99_us"] / 1000, 1),
    }


# --- The part -------------------------------------------------------------------------


def run(*, scale: Scale) -> PartResult:
    from django.contrib.auth.hashers import make_password

    from patients.models import Clinic

    total = scale.pick(small=20_000, full=200_000)
    caseload = 300
    navigators = scale.pick(small=20, full=100)
    result = PartResult(part="worklist", sizes={"navigators": navigators})

    rng = random.Random(20261123)  # noqa: S311 - synthetic data, not security
    clinic, _ = Clinic.objects.get_or_create(code="bench-wl", defaults={"name": "Worklist clinic"})
    started = time.perf_counter()
    me, kinds = worklist_data(
        clinic=clinic, rng=rng, total=total, caseload=caseload, navigators=navigators
    )
    user = me.user
    user.password = make_password(PASSWORD)
    user.save(update_fields=["password"])
    result.details["data_seconds"] = round(time.perf_counter() - started, 1)
    result.details["set_up_as"] = kinds
    return measure(user=user, scale=scale, result=result)


def measure(*, user, scale: Scale, result: PartResult) -> PartResult:
    """(a), (b) and (c) for `user`'s worklist, on the data already built."""
    from django.db import connection
    from django.test import Client

    from navigator.models import NavigationCase
    from navigator.selectors.worklist import (
        worklist_cases,
        worklist_for,
        worklist_navigators,
        worklist_rows,
    )
    from navigator.worklist.prepared import prepared_sql
    from navigator.worklist.rules import Moment

    navigators = result.sizes.get("navigators", 0)
    explain_runs = scale.pick(small=10, full=20)
    seconds = int(os.environ.get("BENCH_WORKLIST_SECONDS") or scale.pick(small=5, full=15))
    # The worklist's own SQL: whose cases, how many, the ranked page of 50.
    moment = Moment.current()

    def selector() -> None:
        # As the page and the API read it (navigator.worklist.compiled and .paged).
        whose = worklist_navigators(user=user, on=moment.today)
        cases = worklist_cases(user=user, navigators=whose, moment=moment)
        cases.count()
        worklist_rows(cases[0:50], user=user, moment=moment)

    selector()  # warm: the rows query is compiled and prepared on this connection
    own = _captured(selector)
    rows = worklist_rows(worklist_for(user=user, moment=moment), user=user, moment=moment)
    top: dict[str, int] = {}
    for row in rows:
        code = row.reasons[0].code if row.reasons else "none"
        top[code] = top.get(code, 0) + 1
    result.sizes = {
        "cases": NavigationCase.objects.count(),
        "navigator_open_cases": len(rows),
        "navigators": navigators,
    }
    result.details["top_reasons"] = top

    sql_ms, timed_ms, literal_ms, plans = _explain_ms(own, prepared_sql(), explain_runs)
    result.details["worklist_sql"] = plans
    result.details["worklist_sql_timed_ms"] = round(timed_ms, 2)
    result.details["worklist_sql_literal_ms"] = round(literal_ms, 2)
    result.figures.append(
        Figure(
            name="worklist SQL (300 open cases; whose, count, page of 50)",
            value=round(sql_ms, 2),
            unit="ms",
            higher_is_better=False,
            target=f"≤ {SQL_TARGET_MS:g} ms",
            met=sql_ms <= SQL_TARGET_MS,
        )
    )
    result.figures.append(
        Figure(
            name="worklist SQL under EXPLAIN's per-node timing (as runs before 2026-12-05)",
            value=round(timed_ms, 2),
            unit="ms",
            higher_is_better=False,
        )
    )
    result.figures.append(
        Figure(
            name="worklist SQL as literal SQL, planned every time (for comparison)",
            value=round(literal_ms, 2),
            unit="ms",
            higher_is_better=False,
        )
    )

    # Queries per request (deterministic), and every query an API request makes, for
    # pgbench: as the load generator will call it, with a token.
    client = Client()
    client.force_login(user)
    counts: dict[str, int] = {}
    for name, path in [("page", "/worklist/"), ("api", "/api/worklist/")]:
        client.get(path, secure=True)
        queries = _captured(lambda path=path: client.get(path, secure=True))
        counts[name] = len(queries)
    result.queries = {
        "per worklist page": counts["page"],
        "per worklist API request": counts["api"],
    }

    with Server(WORKERS) as server:
        token = api_token(server, user.username)
        cookie = sign_in(server, user.username)
        token_client = Client(HTTP_AUTHORIZATION=f"Token {token}")
        token_client.get("/api/worklist/", secure=True)
        api_queries = _captured(lambda: token_client.get("/api/worklist/", secure=True))
        connection.close()  # gunicorn and pgbench get the machine from here on
        script_dir = Path(tempfile.mkdtemp(prefix="bench-worklist-"))
        script = script_dir / "worklist.sql"
        script.write_text("".join(_literal(sql, p) + ";\n" for sql, p in api_queries))
        result.details["pgbench_script_queries"] = len(api_queries)

        floor = {c: _pgbench(script, c, seconds) for c in (1, 32)}
        result.details["pgbench_tps"] = floor
        load: dict[str, dict[int, dict[str, float]]] = {}
        targets = [
            ("api", "/api/worklist/", {"Authorization": f"Token {token}"}),
            ("page", "/worklist/", {"Cookie": cookie}),
        ]
        for name, path, headers in targets:
            # Warm every worker (a worker's first request loads the app: seconds).
            wrk(server.base + path, headers, connections=WORKERS * 2, seconds=10)
            load[name] = {
                c: wrk(server.base + path, headers, connections=c, seconds=seconds) for c in (1, 32)
            }
        result.details["load"] = load
        result.details["workers"] = WORKERS
    for name, label in [("api", "API /api/worklist/"), ("page", "page /worklist/")]:
        for c in (1, 32):
            figures = load[name][c]
            share = figures["requests_per_second"] / floor[c]
            result.figures.append(
                Figure(
                    name=f"worklist {label}, {c} connection{'s' if c > 1 else ''}",
                    value=figures["requests_per_second"],
                    unit="requests/s",
                    floor_name=f"pgbench of the request's SQL, {c} client{'s' if c > 1 else ''}",
                    floor_value=floor[c],
                    target="≥ 50% of the floor" if c == 32 else None,
                    met=share >= THROUGHPUT_SHARE if c == 32 else None,
                )
            )
            result.figures.append(
                Figure(
                    name=f"worklist {label} p95, {c} connection{'s' if c > 1 else ''}",
                    value=figures["p95_ms"],
                    unit="ms",
                    higher_is_better=False,
                    target=f"≤ {P95_TARGET_MS[name]:g} ms" if c == 32 else None,
                    met=figures["p95_ms"] <= P95_TARGET_MS[name] if c == 32 else None,
                )
            )
    result.notes.append(
        f"gunicorn: {WORKERS} sync workers on loopback; wrk -t2 (-t1 at one connection), "
        f"{seconds} s a run; pgbench -j 2 of every query one API request makes."
    )
    result.notes.append(
        "pgbench runs the literal SQL over the simple protocol, so the floor plans every "
        "query on every run; the app plans each of its worklist queries once per "
        "connection (prepared statements on the generic plan, navigator.worklist.prepared: "
        "the ranked rows, whose cases, the count) and the rest (session, user, the "
        "navigator's profile) on every run. The SQL figure is what a request pays in "
        "PostgreSQL: the prepared queries as EXPLAIN (ANALYZE, TIMING OFF) EXECUTE of the "
        "statements the app prepared on the connection (generic plan; the one-off planning "
        "per connection left out), plus EXPLAIN (ANALYZE, TIMING OFF) of the other queries' "
        "literal SQL, planning included; medians of planning + execution, summed. TIMING "
        "OFF: the statement's run time without the clock reads that per-node timing adds "
        "around every node of the plan, for every row and subplan call; the per-node-timed "
        "figure is given beside it (as earlier runs measured it, and the plans in the JSON). The "
        "literal-SQL figure plans every query every time, as the floor does."
    )
    return result


if __name__ == "__main__":
    standalone(run)
