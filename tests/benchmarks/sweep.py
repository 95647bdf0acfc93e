"""`make bench`, part "sweep": the patient-message sweep on PostgreSQL.

BENCH_SWEEP_MESSAGES (100,000) due SMS reminders are swept by the real service,
`outreach.messaging.sweep.messages_dispatch_due`, with the enqueue the beat task uses
(`outreach.tasks.enqueue_sends`: one `send_patient_message.delay` per message) on
a Redis database reserved for the bench (BENCH_REDIS_URL, redis://127.0.0.1:6379/7
by default: outside the databases 8-15 the worker tests take, emptied before and
after). No worker runs; the queued messages are counted in Redis afterwards.

Reported: messages per second claimed and dispatched, and how that time splits
between claiming and enqueueing; the claim alone on a fresh set (enqueue a no-op);
the batch size (BENCH_SWEEP_BATCH, else settings.EQUINAV_SWEEP_BATCH) and the
queries each batch made; batch times early and late in the sweep (a claim that
slows as the sweep goes on would show there); and memory: the tracemalloc peak of
a whole sweep of the full set against that of a set ten times smaller (a sweep
that streams peaks at about the same), with the process's resident memory.

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

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/7"
LOCK_KEY = "equinav:bench-sweep:lock"
QUEUE = "celery"  # Celery's default queue: a Redis list of that name
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

    def queued(self) -> int:
        return int(self.client.llen(QUEUE))


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
        claims.append((time.perf_counter(), counter.count))
        return timezone.now()

    def timed_enqueue(ids: list[int]) -> None:
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
        result["tracemalloc_peak_mib"] = round((peak - base) / 2**20, 2)

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


def bench_sweep(*, clinic) -> dict[str, object]:
    from django.conf import settings

    from config.celery import app
    from outreach import tasks

    total = int(os.environ.get("BENCH_SWEEP_MESSAGES", "100000"))
    small = max(1, total // 10)
    batch = int(os.environ.get("BENCH_SWEEP_BATCH", "0")) or settings.EQUINAV_SWEEP_BATCH
    url = broker_url()
    assert app.conf.broker_url == url, (app.conf.broker_url, url)

    started = time.perf_counter()
    patient_ids = _patients(clinic, max(1, total // MESSAGES_PER_PATIENT))
    result: dict[str, object] = {
        "messages": total,
        "patients": len(patient_ids),
        "batch_size": batch,
        "broker": url,
    }

    def noop(ids: list[int]) -> None:
        return None

    with Broker(url) as broker:
        # 1. Claimed and dispatched: the beat task's own enqueue, to Redis.
        load_seconds = _load(tag="bench-dispatch", count=total, patient_ids=patient_ids)
        rss_before = _rss_mib()
        dispatch = _sweep(enqueue=tasks.enqueue_sends, batch=batch)
        rss_after = _rss_mib()
        claim_sql = dispatch.pop("_claim_sql")
        dispatch["queued_in_redis"] = broker.queued()
        _check(dispatch, total)
        dispatch["rss_before"] = rss_before
        dispatch["rss_after"] = rss_after
        _retire("bench-dispatch")
        broker.clear()
        result["dispatch"] = dispatch
        result["load_seconds_per_set"] = round(load_seconds, 1)
        print(json.dumps({"sweep_dispatch": dispatch}), flush=True)

        # 2. The claim alone, on a fresh set: enqueue does nothing.
        _load(tag="bench-claim", count=total, patient_ids=patient_ids)
        result["claim_query_plan"] = _explain(claim_sql)
        claim_only = _sweep(enqueue=noop, batch=batch)
        claim_only.pop("_claim_sql")
        _check(claim_only, total)
        for key in ("enqueue_seconds", "enqueue_messages_per_second", "claim_messages_per_second"):
            claim_only.pop(key)
        _retire("bench-claim")
        result["claim_only"] = claim_only
        print(json.dumps({"sweep_claim_only": claim_only}), flush=True)

        # 3. Memory: tracemalloc's peak over a whole sweep (dispatching to Redis) of
        # a set ten times smaller, then of the full size again.
        memory: dict[str, object] = {}
        for name, count in (("small", small), ("full", total)):
            tag = f"bench-memory-{name}"
            _load(tag=tag, count=count, patient_ids=patient_ids)
            run = _sweep(enqueue=tasks.enqueue_sends, batch=batch, trace=True)
            queued = broker.queued()
            _check(run, count)
            _retire(tag)
            broker.clear()
            memory[name] = {
                "messages": count,
                "tracemalloc_peak_mib": run["tracemalloc_peak_mib"],
                "dispatched": run["dispatched"],
                "queued_in_redis": queued,
                "seconds_traced": run["seconds"],
            }
        peaks = [memory[name]["tracemalloc_peak_mib"] for name in ("small", "full")]
        memory["peak_ratio_full_to_small"] = round(peaks[1] / peaks[0], 2) if peaks[0] else None
        memory["rss_end"] = _rss_mib()
        result["memory"] = memory
        print(json.dumps({"sweep_memory": memory}), flush=True)
    result["seconds"] = round(time.perf_counter() - started, 1)
    result["summary"] = summary(result)
    print(result["summary"], flush=True)
    return result


def _check(run: dict[str, object], count: int) -> None:
    """Every message of the set claimed exactly once."""
    if run["dispatched"] != count:
        print(f"WARNING: the sweep dispatched {run['dispatched']} of {count}", flush=True)
        run["warning"] = f"dispatched {run['dispatched']}, expected {count}"


def summary(result: dict) -> str:
    d, c, m = result["dispatch"], result["claim_only"], result["memory"]
    total = result["messages"]
    lines = [
        f"Sweep: {total:,} due SMS reminders for {result['patients']:,} patients, "
        f"batches of {result['batch_size']}.",
        f"  claimed + dispatched to Redis: {d['dispatched']:,} in {d['seconds']} s = "
        f"{d['messages_per_second']:,.0f} msg/s (claiming {d['claim_seconds']} s, "
        f"enqueueing {d['enqueue_seconds']} s); {d['queued_in_redis']:,} queued in Redis.",
        f"  claim only: {c['dispatched']:,} in {c['seconds']} s = "
        f"{c['messages_per_second']:,.0f} msg/s; queries per batch {c['queries_per_batch']}; "
        f"claim ms first/last tenth {c['claim_ms']['first_tenth_mean']}/"
        f"{c['claim_ms']['last_tenth_mean']}.",
    ]
    lines.append(
        f"  memory, tracemalloc peak over a whole sweep: {m['small']['tracemalloc_peak_mib']} "
        f"MiB for {m['small']['messages']:,}, {m['full']['tracemalloc_peak_mib']} MiB for "
        f"{m['full']['messages']:,} (x{m['peak_ratio_full_to_small']}); RSS "
        f"{d['rss_before']['rss_mib']} -> {d['rss_after']['rss_mib']} MiB over the "
        f"dispatch sweep (max RSS {d['rss_after']['max_rss_mib']} MiB)."
    )
    return "\n".join(lines)
