"""`make bench`: every part's figure beside its floor, as a scoreboard and JSON.

    python tests/benchmarks/run.py [--scale small|full] [--parts a,b] [--json PATH]
        [--baseline PATH] [--check-queries] [--write-baseline]

Not a test: it reports numbers. Each part (PARTS, in order; see harness.py for
what a part is) runs in a process of its own on a fresh PostgreSQL database
(BENCH_DATABASE_URL, default equinav_bench) copied from a template migrated once
per run: a copy takes about a second where a migrate takes 20-30 s, and no part
sees another's rows, settings or memory. At the end: the scoreboard (each
figure, its floor measured in the same run, the ratio, the issue's target and
whether it is met) and the JSON (default .run/bench.json: machine, versions,
git commit, scale, sizes, timestamps, every part's result).

`--check-queries` compares each part's query counts with
tests/benchmarks/baseline_queries.json (made at `--scale small`): a count that
grew, or a baseline label the run no longer measures, fails the run; a count
that shrank, or a new label, is a note (`--write-baseline` rewrites the parts
that ran). Exit status: 0, or 1 when a part failed or the guard did, 2 when a
part asked for is not installed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[2]
# Run as a script, tests/benchmarks/ is sys.path[0]: its part modules would then shadow
# top-level packages of the same name (the part "fhir" hid fhir.resources). Import
# them as tests.benchmarks.* from the project's root instead.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.benchmarks import harness, scoreboard  # noqa: E402

# The parts, in the order they run: tests/benchmarks/<name>.py, each `run(*, scale)`.
PARTS = ("referral_import", "fhir", "care_gaps", "worklist", "sweep", "ecqm", "equity")
BASELINE = ROOT / "tests" / "benchmarks" / "baseline_queries.json"
DEFAULT_JSON = ROOT / ".run" / "bench.json"


class PartNotInstalled(Exception):
    pass


def selected_parts(spec: str | None) -> list[str]:
    """The parts asked for, in PARTS order; every one must exist as a module."""
    names = PARTS if not spec else tuple(n.strip() for n in spec.split(",") if n.strip())
    unknown = [n for n in names if n not in PARTS]
    if unknown:
        raise SystemExit(f"Unknown part(s): {', '.join(unknown)}. Parts: {', '.join(PARTS)}.")
    missing = [n for n in names if importlib.util.find_spec(f"tests.benchmarks.{n}") is None]
    if missing:
        files = ", ".join(f"tests/benchmarks/{n}.py" for n in missing)
        raise PartNotInstalled(
            f"Part not installed: {', '.join(missing)} (no {files}). Merge the branch that "
            f"adds it, or leave it out with --parts."
        )
    # Part modules import nothing of Django at their top (harness.py), so this is cheap.
    old = [n for n in names if not callable(getattr(_module(n), "run", None))]
    if old:
        raise PartNotInstalled(
            f"Part not on the contract yet: {', '.join(old)} (no `run(*, scale)` in "
            + ", ".join(f"tests/benchmarks/{n}.py" for n in old)
            + "; see tests/benchmarks/harness.py)."
        )
    return [n for n in PARTS if n in names]


def _module(name: str) -> Any:
    return importlib.import_module(f"tests.benchmarks.{name}")


def template_url(url: str) -> str:
    """The same server, a database named <bench>_template."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"{parts.path.rstrip('/')}_template"))


def _child(args: list[str], env: dict[str, str]) -> int:
    return subprocess.run(  # noqa: S603 - this script, with the runner's own arguments
        [sys.executable, str(Path(__file__).resolve()), *args], env=env, check=False
    ).returncode


def run_part(name: str, *, scale: str, template: str, env: dict[str, str]) -> dict[str, Any]:
    """One part in a child process; its result, or a result saying why it failed."""
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as folder:
        out = Path(folder) / "result.json"
        code = _child(
            ["--child-part", name, "--scale", scale, "--template", template, "--out", str(out)],
            env,
        )
        result: dict[str, Any] = (
            json.loads(out.read_text())
            if code == 0 and out.exists()
            else {"part": name, "error": f"exit status {code} (its output is above)"}
        )
    result["seconds"] = round(time.perf_counter() - started, 1)
    return result


def child_part(name: str, *, scale: str, template: str, out: Path) -> None:
    """In the child: the part's hook, a fresh database from the template, the part."""
    harness.configure_environment()
    module = _module(name)
    harness.configure_part(module.__name__)
    harness.prepare(template=template)
    result = module.run(scale=harness.Scale(scale))
    out.write_text(json.dumps(result.as_dict(), default=str))


def server_versions(url: str) -> dict[str, str | None]:
    found: dict[str, str | None] = {"postgres": None, "redis": None}
    try:
        import psycopg

        with psycopg.connect(url, connect_timeout=5) as connection:
            row = connection.execute("SHOW server_version").fetchone()
            found["postgres"] = str(row[0]) if row else None
    except Exception:  # noqa: BLE001, S110 - a version is a nicety; the parts fail loudly
        pass
    try:
        import redis

        redis_url = os.environ.get("BENCH_REDIS_URL") or os.environ.get(
            "REDIS_URL", "redis://127.0.0.1:6379/0"
        )
        info = redis.Redis.from_url(redis_url, socket_connect_timeout=2).info("server")
        found["redis"] = str(info.get("redis_version"))
    except Exception:  # noqa: BLE001, S110 - no Redis: the parts that need it say so
        pass
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", choices=harness.SCALES, default="full")
    parser.add_argument("--parts", help=f"comma-separated, of: {','.join(PARTS)}")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON)
    parser.add_argument("--baseline", type=Path, default=BASELINE)
    parser.add_argument("--check-queries", action="store_true")
    parser.add_argument("--write-baseline", action="store_true")
    # The runner calls itself for each part (and once for the template).
    parser.add_argument("--child-part", help=argparse.SUPPRESS)
    parser.add_argument("--child-template", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--template", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child_template:
        harness.prepare()
        return 0
    if args.child_part:
        child_part(args.child_part, scale=args.scale, template=args.template, out=args.out)
        return 0

    try:
        names = selected_parts(args.parts)
    except PartNotInstalled as error:
        print(error, file=sys.stderr)
        return 2
    started = dt.datetime.now(dt.UTC)
    url = harness.database_url()
    template = template_url(url)
    env = dict(os.environ)
    print(f"bench: scale {args.scale}, parts {', '.join(names)}; migrating {template}", flush=True)
    setup_started = time.perf_counter()
    if _child(["--child-template"], {**env, "BENCH_DATABASE_URL": template}) != 0:
        print("bench: could not build the template database", file=sys.stderr)
        return 1
    setup_seconds = round(time.perf_counter() - setup_started, 1)

    results = []
    try:
        for name in names:
            print(f"\n=== {name} ({args.scale}) ===", flush=True)
            result = run_part(
                name, scale=args.scale, template=harness.database_name(template), env=env
            )
            print(f"=== {name}: {result['seconds']} s", flush=True)
            results.append(result)
    finally:
        harness.drop_database(template)

    servers = server_versions(url)
    doc = scoreboard.document(
        results=results,
        scale=args.scale,
        started=started,
        finished=dt.datetime.now(dt.UTC),
        machine=scoreboard.machine(),
        versions=scoreboard.versions(postgres=servers["postgres"], redis=servers["redis"]),
        commit=scoreboard.git_commit(ROOT),
        setup_seconds=setup_seconds,
    )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(doc, indent=2, default=str))

    print(f"\nScoreboard ({args.scale}, {doc['seconds']} s; JSON: {args.json})\n")
    print(scoreboard.format_table(results))
    for result in results:
        for note in result.get("notes") or []:
            print(f"  {result['part']}: {note}")
    failed = any(r.get("error") for r in results)

    baseline: dict[str, dict[str, int]] = (
        json.loads(args.baseline.read_text()) if args.baseline.exists() else {}
    )
    if args.check_queries:
        if args.scale != "small":
            print("\nNote: the query baseline is made at --scale small.")
        check = scoreboard.compare_queries(baseline, results)
        print("\n" + check.report())
        failed = failed or check.failed
    if args.write_baseline:
        merged = scoreboard.updated_baseline(baseline, results)
        args.baseline.write_text(json.dumps(merged, indent=2, ensure_ascii=False) + "\n")
        print(f"\nBaseline written: {args.baseline}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
