"""`make bench`, part "sweep": the patient-message sweep on PostgreSQL.

Due SMS reminders (100,000; 5,000 at `--scale small`) are swept by the real
service, `outreach.messaging.sweep.messages_dispatch_due`, with the enqueue the
beat task uses (`outreach.tasks.enqueue_sends`: a `send_patient_messages` task per
EQUINAV_SEND_TASK_BATCH claimed messages, published over one connection once the
claim commits) on a Redis database reserved for the bench (BENCH_REDIS_URL,
redis://127.0.0.1:6379/7 by default, emptied before and after; the Celery broker
must be that database: REDIS_URL=BENCH_REDIS_URL before Django loads). No worker
runs; the queued tasks are read back from Redis and their message ids counted,
so a message enqueued twice or never shows.

The floor, measured in the same run: the claim alone (the same sweep with an
enqueue that does nothing, on a fresh set: SQL only) plus a raw redis-py
pipeline LPUSHing one small message per message id to a list (the broker
alone, no Celery): the dispatch can be no faster than both together.

Also reported: how the dispatch's time splits between claiming and enqueueing,
the queries each batch made, batch times early and late in the sweep (a claim
that slows as the sweep goes on would show there), and memory: the tracemalloc
peak of a whole sweep of the full set against that of a set ten times smaller
(a sweep that streams peaks at about the same), with the process's resident memory.

Each set gets a rule key of its own, and is marked sent once measured, so the
next set's sweep finds only its own messages.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import resource
import statistics
import time
import tracemalloc
from collections.abc import Callable
from urllib.parse import urlparse

from tests.benchmarks.harness import Figure, PartResult, Scale, standalone

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/7"
LOCK_KEY = "equinav:bench-sweep:lock"
MESSAGES_PER_PATIENT = 25


def broker_url() -> str:
    return os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS_URL)


def check_broker(url: str) -> None:
    """Fail before the database is built if the bench's Redis is not there."""
    import redis

    parsed = urlparse(url)
    if not parsed.path.strip("/"):
        raise SystemExit(f"BENCH_REDIS_URL={url!r} names no database number; it is flushed")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError as error:
        raise SystemExit(f"the sweep part needs Redis at {url}: {error}") from error


class Broker:
    """The bench's Redis database: taken with a lock key, emptied before and after."""

    def __init__(self, url: str) -> None:
        import redis

        self.url = url
        self.client = redis.Redis.from_url(url)

    def __enter__(self) -> Broker:
        if not self.client.set(LOCK_KEY, str(os.getpid()), nx=True, ex=3600):
            raise SystemExit(f"{self.url} is in use by another bench ({LOCK_KEY} is set)")
        self.clear()
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.flushdb()
        self.client.close()

    def clear(self) -> None:
        for key in self.client.scan_iter():
            if key != LOCK_KEY.encode():
                self.client.delete(key)


def _rss_mib() -> dict[str, float]:
    """The process's resident memory now (Linux) and its peak so far."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    current = None
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    current = int(line.split()[1]) / 1024
    except OSError:
        pass
    return {"rss_mib": round(current, 1) if current else None, "max_rss_mib": round(peak, 1)}


def _patients(clinic, count: int) -> list[int]:
    from patients.models import Patient

    ids: list[int] = []
    for start in range(0, count, 5000):
        chunk = Patient.objects.bulk_create(
            [
                Patient(
                    clinic=clinic,
                    mrn=f"S{i:08d}",
                    given_name="Given",
                    family_name=f"Sweep{i}",
                    birth_date=dt.date(1950, 1, 1) + dt.timedelta(days=i % (365 * 25)),
                    sex="female" if i % 2 else "male",
                    sms_consent=True,
                )
                for i in range(start, min(start + 5000, count))
            ]
        )
        ids += [patient.pk for patient in chunk]
    return ids


def _load(*, tag: str, count: int, patient_ids: list[int]) -> float:
    """`count` due SMS reminders under rule key `tag`; the seconds it took."""
    from django.db import connection
    from django.utils import timezone

    from outreach.models import PatientMessage

    started = time.perf_counter()
    now = timezone.now()
    today = timezone.localdate()
    for start in range(0, count, 5000):
        PatientMessage.objects.bulk_create(
            [
                PatientMessage(
                    patient_id=patient_ids[i % len(patient_ids)],
                    kind="appointment_reminder",
                    channel="sms",
                    recipient=f"+1617555{i % 10000:04d}",
                    language="en",
                    body=(
                        f"Hi Given, this is a reminder of your screening appointment on "
                        f"{today:%B %d} at 9:30 AM at Bench site. Questions? Call "
                        f"617-555-0100. Reply STOP to opt out. ({tag} {i})"
                    ),
                    rule_key=tag,
                    subject_key=f"appointment:{i}",
                    slot=today,
                    state="scheduled",
                    # Spread over the last day, so the claim's order by due_at matters.
                    due_at=now - dt.timedelta(seconds=60 + (i * 7919) % 86400),
                )
                for i in range(start, min(start + 5000, count))
            ]
        )
    with connection.cursor() as cursor:
        # Fresh bulk loads have no planner statistics yet; a live database's
        # autovacuum would have caught up.
        cursor.execute("VACUUM ANALYZE outreach_patientmessage")
    return time.perf_counter() - started


def _retire(tag: str) -> None:
    """Mark a measured set sent, so no later sweep claims it again after its lease."""
    from django.utils import timezone

    from outreach.models import PatientMessage

    PatientMessage.objects.filter(rule_key=tag).update(state="sent", sent_at=timezone.now())


def _sweep(
    *, enqueue: Callable[[list[int]], object], batch: int, trace: bool = False
) -> dict[str, object]:
    """One call of the real sweep, with a budget that lets it drain everything.

    The service's `now` hook marks when each claim starts and a wrapper around
    `enqueue` when each enqueue starts and ends, with the queries made so far, so
    one run splits into claim and enqueue time, and queries per batch, without
    touching the service."""
    from django.db import connection
    from django.test import override_settings
    from django.utils import timezone

    from outreach.messaging import sweep as services

    counter = QueryRecorder()
    claims: list[tuple[float, int]] = []  # (when, queries so far) as each claim starts
    enqueues: list[tuple[float, float, int]] = []  # (start, end, queries so far at start)

    def now() -> dt.datetime:
        # Not while tracing memory: these marks (two tuples a batch) are the bench's
        # own and grow with the batches; traced, they were most of the "growth" seen.
        if not trace:
            claims.append((time.perf_counter(), counter.count))
        return timezone.now()

    def timed_enqueue(ids: list[int]) -> None:
        if trace:
            enqueue(ids)
            return
        t0, before = time.perf_counter(), counter.count
        enqueue(ids)
        enqueues.append((t0, time.perf_counter(), before))

    if trace:
        tracemalloc.start()
        base, _ = tracemalloc.get_traced_memory()
    # A sweep re-claims messages still "sending" after the lease (10 minutes): a
    # sweep slowed by tracemalloc would claim its own first batches again.
    with (
        override_settings(EQUINAV_MESSAGE_LEASE_SECONDS=24 * 3600),
        connection.execute_wrapper(counter),
    ):
        started = time.perf_counter()
        dispatched = services.messages_dispatch_due(
            enqueue=timed_enqueue, now=now, batch=batch, budget=dt.timedelta(hours=1)
        )
        elapsed = time.perf_counter() - started
    result: dict[str, object] = {}
    if trace:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        # Only what a traced run is for: no timing marks were kept.
        return {
            "dispatched": dispatched,
            "seconds": round(elapsed, 2),
            "tracemalloc_peak_mib": round((peak - base) / 2**20, 2),
        }

    # A batch runs from its claim's start to its enqueue's end; the sweep's last
    # claim may find nothing and enqueue nothing.
    claim_times = [enq[0] - claim[0] for claim, enq in zip(claims, enqueues, strict=False)]
    enqueue_times = [end - start for start, end, _ in enqueues]
    batch_times = [c + e for c, e in zip(claim_times, enqueue_times, strict=True)]
    marks = [queries for _, queries in claims] + [counter.count]
    queries_per_batch = sorted({marks[i + 1] - marks[i] for i in range(len(enqueues))})
    enqueue_queries = sum(marks[i + 1] - before for i, (_, _, before) in enumerate(enqueues))
    enqueue_seconds = sum(enqueue_times)
    claim_seconds = elapsed - enqueue_seconds
    tenth = max(1, len(batch_times) // 10)

    def ms(values: list[float], how: Callable[[list[float]], float]) -> float | None:
        return round(how(values) * 1000, 1) if values else None

    result.update(
        {
            "dispatched": dispatched,
            "seconds": round(elapsed, 2),
            "messages_per_second": round(dispatched / elapsed, 1) if elapsed else None,
            "batches": len(enqueues),
            "claim_seconds": round(claim_seconds, 2),
            "enqueue_seconds": round(enqueue_seconds, 2),
            "claim_messages_per_second": round(dispatched / claim_seconds, 1),
            "enqueue_messages_per_second": (
                round(dispatched / enqueue_seconds, 1) if enqueue_seconds > 0.001 else None
            ),
            "queries_per_batch": queries_per_batch,
            "queries_in_enqueue": enqueue_queries,
            "queries_total": counter.count,
            "batch_ms": {
                "median": ms(batch_times, statistics.median),
                "max": ms(batch_times, max),
                "first_tenth_mean": ms(batch_times[:tenth], statistics.fmean),
                "last_tenth_mean": ms(batch_times[-tenth:], statistics.fmean),
            },
            "claim_ms": {
                "median": ms(claim_times, statistics.median),
                "first_tenth_mean": ms(claim_times[:tenth], statistics.fmean),
                "last_tenth_mean": ms(claim_times[-tenth:], statistics.fmean),
            },
        }
    )
    result["_claim_sql"] = counter.first
    return result


class QueryRecorder:
    """Counts queries (DEBUG is off, so Django logs none) and keeps the first one."""

    def __init__(self) -> None:
        self.count = 0
        self.first: tuple[str, object] | None = None

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        if self.first is None:
            self.first = (sql, params)
        return execute(sql, params, many, context)


def _explain(claim_sql: tuple[str, object] | None) -> dict[str, object] | None:
    """The claim's SELECT ... FOR UPDATE SKIP LOCKED, run under EXPLAIN ANALYZE on a
    full set (autocommit: its row locks end with it; nothing is changed)."""
    from django.db import connection

    if claim_sql is None:
        return None
    sql, params = claim_sql
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql, params)
        plan = cursor.fetchone()[0]
    plan = json.loads(plan) if isinstance(plan, str) else plan
    nodes = []

    def walk(node: dict) -> None:
        index = node.get("Index Name")
        nodes.append(node["Node Type"] + (f" on {index}" if index else ""))
        for child in node.get("Plans", []):
            walk(child)

    walk(plan[0]["Plan"])
    return {
        "plan": nodes,
        "execution_ms": round(plan[0]["Execution Time"], 1),
        "planning_ms": round(plan[0]["Planning Time"], 1),
    }


def _queued(broker: Broker) -> dict[str, int]:
    """The send tasks waiting in Redis (every list), and the message ids they carry."""
    import base64

    tasks = ids = 0
    seen: set[int] = set()
    repeats = 0
    for key in broker.client.scan_iter():
        if broker.client.type(key) != b"list":
            continue
        for raw in broker.client.lrange(key, 0, -1):
            envelope = json.loads(raw)
            body = envelope["body"]
            if envelope.get("properties", {}).get("body_encoding") == "base64":
                body = base64.b64decode(body)
            args = json.loads(body)[0]
            tasks += 1
            for message_id in args[0] if isinstance(args[0], list) else [args[0]]:
                ids += 1
                repeats += message_id in seen
                seen.add(message_id)
    return {"tasks": tasks, "message_ids": ids, "repeated_ids": repeats}


def _lpush_floor(broker: Broker, count: int, batch: int) -> float:
    """Seconds for redis-py to LPUSH `count` small messages (one per message id, the
    size of a Celery envelope) in pipelines of `batch`: the broker alone."""
    payload = json.dumps(
        {"body": "W1sxMjM0NTY3OF0sIHt9LCB7ImNhbGxiYWNrcyI6IG51bGx9XQ==", "headers": {
            "lang": "py", "task": "outreach.tasks.send_patient_message", "id": "0" * 36,
            "retries": 0, "root_id": "0" * 36, "parent_id": None, "origin": "gen@bench"},
         "content-type": "application/json", "content-encoding": "utf-8",
         "properties": {"delivery_tag": "0" * 36, "delivery_info": {"exchange": "",
                        "routing_key": "floor"}, "priority": 0, "body_encoding": "base64"}}
    )  # fmt: skip
    started = time.perf_counter()
    for start in range(0, count, batch):
        pipe = broker.client.pipeline(transaction=False)
        for _ in range(min(batch, count - start)):
            pipe.lpush("bench-floor", payload)
        pipe.execute()
    seconds = time.perf_counter() - started
    broker.client.delete("bench-floor")
    return seconds


def run(*, scale: Scale) -> PartResult:
    from django.conf import settings

    from config.celery import app
    from outreach import tasks
    from patients.models import Clinic

    total = scale.pick(small=5_000, full=100_000)
    small = max(1, total // 10)
    batch = settings.EQUINAV_SWEEP_BATCH
    url = broker_url()
    check_broker(url)
    if app.conf.broker_url != url:
        raise SystemExit(
            f"the Celery broker is {app.conf.broker_url!r}, not the bench's {url!r}: "
            "set REDIS_URL=BENCH_REDIS_URL before Django loads"
        )
    result = PartResult(part="sweep")
    started = time.perf_counter()
    clinic = Clinic.objects.create(code="bench-sweep", name="Bench sweep clinic")
    patient_ids = _patients(clinic, max(1, total // MESSAGES_PER_PATIENT))
    result.sizes.update(
        {
            "messages": total,
            "patients": len(patient_ids),
            "batch": batch,
            "messages_per_send_task": settings.EQUINAV_SEND_TASK_BATCH,
        }
    )

    def noop(ids: list[int]) -> None:
        return None

    with Broker(url) as broker:
        # 1. Claimed and dispatched: the beat task's own enqueue, to Redis.
        _load(tag="bench-dispatch", count=total, patient_ids=patient_ids)
        rss_before = _rss_mib()
        dispatch = _sweep(enqueue=tasks.enqueue_sends, batch=batch)
        rss_after = _rss_mib()
        claim_sql = dispatch.pop("_claim_sql")
        dispatch["queued"] = _queued(broker)
        _check(dispatch, total)
        if dispatch["queued"]["message_ids"] != total or dispatch["queued"]["repeated_ids"]:
            dispatch["warning"] = f"queued {dispatch['queued']}, expected {total} ids once each"
        dispatch["rss_before"], dispatch["rss_after"] = rss_before, rss_after
        _retire("bench-dispatch")
        broker.clear()

        # 2. The floor: the claim alone, on a fresh set (enqueue does nothing) ...
        _load(tag="bench-claim", count=total, patient_ids=patient_ids)
        claim_plan = _explain(claim_sql)
        claim_only = _sweep(enqueue=noop, batch=batch)
        claim_only.pop("_claim_sql")
        _check(claim_only, total)
        _retire("bench-claim")
        # ... and the broker alone: one raw LPUSH per message, pipelined per batch.
        lpush_seconds = _lpush_floor(broker, total, batch)

        # 3. Memory: tracemalloc's peak over a whole sweep (dispatching to Redis) of
        # a set ten times smaller, then of the full size again.
        memory: dict[str, object] = {}
        for name, count in (("small", small), ("full", total)):
            tag = f"bench-memory-{name}"
            _load(tag=tag, count=count, patient_ids=patient_ids)
            traced = _sweep(enqueue=tasks.enqueue_sends, batch=batch, trace=True)
            _check(traced, count)
            _retire(tag)
            broker.clear()
            memory[name] = {
                "messages": count,
                "tracemalloc_peak_mib": traced["tracemalloc_peak_mib"],
                "dispatched": traced["dispatched"],
            }
        memory["rss_end"] = _rss_mib()

    peaks = [memory[name]["tracemalloc_peak_mib"] for name in ("small", "full")]
    ratio = round(peaks[1] / peaks[0], 2) if peaks[0] else 0.0
    claim_seconds = float(claim_only["seconds"])
    floor_rate = total / (claim_seconds + lpush_seconds)
    rate = float(dispatch["messages_per_second"] or 0)
    result.figures += [
        Figure(
            name="message sweep, claimed and dispatched to Redis",
            value=rate,
            unit="messages/s",
            floor_name="the claim alone (SQL) + a raw pipelined LPUSH per message, back to back",
            floor_value=round(floor_rate, 1),
            target="≥ 5,000 messages/s",
            met=rate >= 5000,
        ),
        Figure(
            name=f"sweep memory: tracemalloc peak for {total:,} messages / for {small:,}",
            value=ratio,
            unit="x",
            higher_is_better=False,
            target="flat (≤ 1.5x for 10x the messages)",
            met=ratio <= 1.5,
        ),
    ]
    result.queries["sweep per claimed batch (claim; enqueue makes none)"] = max(
        dispatch["queries_per_batch"]
    )
    result.details.update(
        {
            "dispatch": dispatch,
            "claim_only": claim_only,
            "claim_only_messages_per_second": claim_only["messages_per_second"],
            "lpush_seconds": round(lpush_seconds, 3),
            "lpush_messages_per_second": round(total / lpush_seconds, 1),
            "claim_query_plan": claim_plan,
            "memory": memory,
            "seconds": round(time.perf_counter() - started, 1),
        }
    )
    result.notes.append(summary(result))
    return result


def _check(run: dict[str, object], count: int) -> None:
    """Every message of the set claimed exactly once."""
    if run["dispatched"] != count:
        run["warning"] = f"dispatched {run['dispatched']}, expected {count}"


def summary(result: PartResult) -> str:
    d = result.details
    dispatch, claim, memory = d["dispatch"], d["claim_only"], d["memory"]
    return (
        f"{dispatch['dispatched']:,} messages in {dispatch['seconds']} s = "
        f"{dispatch['messages_per_second']:,.0f}/s (claiming {dispatch['claim_seconds']} s, "
        f"enqueueing {dispatch['enqueue_seconds']} s; {dispatch['queued']['tasks']:,} tasks "
        f"queued carrying {dispatch['queued']['message_ids']:,} ids); floor: claim alone "
        f"{claim['seconds']} s ({claim['messages_per_second']:,.0f}/s) + LPUSH "
        f"{d['lpush_seconds']} s ({d['lpush_messages_per_second']:,.0f}/s); tracemalloc peak "
        f"{memory['small']['tracemalloc_peak_mib']} MiB for {memory['small']['messages']:,}, "
        f"{memory['full']['tracemalloc_peak_mib']} MiB for {memory['full']['messages']:,}."
    )


def configure() -> None:
    """Before the settings load (the runner's hook): they make REDIS_URL the Celery broker."""
    os.environ["REDIS_URL"] = broker_url()


if __name__ == "__main__":
    configure()
    standalone(run)
