"""What `run.py` makes of the parts' results: the table, the JSON, the query guard.

Pure functions over the parts' `PartResult.as_dict()` (no Django, no database),
so that tests/project/test_bench_scoreboard.py checks them without running a
bench; plus `machine()` and `versions()`, which read this machine.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import re
import subprocess
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

JSON_VERSION = 1
PYTHON_PACKAGES = ("django", "psycopg", "celery", "gunicorn", "redis", "kombu")
TOOLS = {"wrk": ["wrk", "--version"], "pgbench": ["pgbench", "--version"]}

# --- The table ------------------------------------------------------------------


def number(value: float | None) -> str:
    """A figure as people read it: thousands separated, three significant digits
    below 100."""
    if value is None:
        return "—"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}"


def ratio(figure: dict[str, Any]) -> float | None:
    """The figure ÷ its floor, in the figure's own unit: 0.25 for a throughput a
    quarter of the floor's, 1.3 for a time 30% over the floor's."""
    floor = figure.get("floor_value")
    if not floor:
        return None
    return float(figure["value"]) / float(floor)


def met_mark(met: bool | None) -> str:
    return {True: "✓", False: "✗", None: "—"}[met]


HEADERS = ("part", "figure", "value", "floor", "floor value", "× floor", "target", "met")


def rows(results: list[dict[str, Any]]) -> list[tuple[str, ...]]:
    """One row per figure; a part that failed is one row saying so."""
    table: list[tuple[str, ...]] = []
    for result in results:
        part = str(result["part"])
        if result.get("error"):
            table.append((part, f"FAILED: {result['error']}", "", "", "", "", "", "✗"))
            continue
        if not result.get("figures"):
            table.append((part, "(no figures)", "", "", "", "", "", "—"))
        for figure in result.get("figures", []):
            unit = figure.get("unit") or ""
            floor = figure.get("floor_value")
            share = ratio(figure)
            table.append(
                (
                    part,
                    str(figure["name"]),
                    f"{number(figure['value'])} {unit}".strip(),
                    str(figure.get("floor_name") or "—"),
                    f"{number(floor)} {unit}".strip() if floor is not None else "—",
                    f"{share:.2f}" if share is not None else "—",
                    str(figure.get("target") or "—"),
                    met_mark(figure.get("met")),
                )
            )
    return table


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def format_table(results: list[dict[str, Any]], *, max_width: int = 44) -> str:
    """The scoreboard: a plain-text table, every column as wide as its widest cell
    (long names clipped at `max_width`)."""
    body = [tuple(_clip(cell, max_width) for cell in row) for row in rows(results)]
    widths = [max(len(h), *(len(row[i]) for row in body)) for i, h in enumerate(HEADERS)]
    numeric = {2, 4, 5}  # right-aligned columns

    def line(cells: tuple[str, ...]) -> str:
        return "  ".join(
            cell.rjust(widths[i]) if i in numeric else cell.ljust(widths[i])
            for i, cell in enumerate(cells)
        ).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(HEADERS), rule, *(line(row) for row in body)])


# --- The query guard --------------------------------------------------------------


@dataclass
class QueryCheck:
    """Query counts against the committed baseline (part → label → count)."""

    grown: list[str] = field(default_factory=list)  # fail
    missing: list[str] = field(default_factory=list)  # fail: a renamed label escapes the guard
    shrunk: list[str] = field(default_factory=list)  # note: update the baseline
    new: list[str] = field(default_factory=list)  # note: add to the baseline
    unchecked: list[str] = field(default_factory=list)  # parts that failed: nothing to check

    @property
    def failed(self) -> bool:
        return bool(self.grown or self.missing)

    def report(self) -> str:
        lines = []
        for title, items in (
            (
                "Query counts that GREW (fix the code, or justify and update the baseline)",
                self.grown,
            ),
            ("Baseline labels MISSING from this run (renamed or removed?)", self.missing),
            ("Query counts that shrank: update the baseline (--write-baseline)", self.shrunk),
            ("New labels, not in the baseline yet (--write-baseline adds them)", self.new),
            ("Parts not checked (they failed)", self.unchecked),
        ):
            if items:
                lines.append(f"{title}:")
                lines += [f"  {item}" for item in items]
        return "\n".join(lines) if lines else "Query counts: as in the baseline."


def compare_queries(
    baseline: dict[str, dict[str, int]], results: list[dict[str, Any]]
) -> QueryCheck:
    """Each part that ran (and did not fail) against its baseline entry."""
    check = QueryCheck()
    for result in results:
        part = str(result["part"])
        if result.get("error"):
            check.unchecked.append(part)
            continue
        counts: dict[str, int] = dict(result.get("queries") or {})
        expected = baseline.get(part, {})
        for label, old in expected.items():
            if label not in counts:
                check.missing.append(f"{part} / {label}: {old} in the baseline, not measured")
            elif counts[label] > old:
                check.grown.append(f"{part} / {label}: {old} → {counts[label]}")
            elif counts[label] < old:
                check.shrunk.append(f"{part} / {label}: {old} → {counts[label]}")
        check.new += [
            f"{part} / {label}: {count}" for label, count in counts.items() if label not in expected
        ]
    return check


def updated_baseline(
    baseline: dict[str, dict[str, int]], results: list[dict[str, Any]]
) -> dict[str, dict[str, int]]:
    """The baseline with the counts of every part that ran replaced by this run's."""
    merged = {part: dict(labels) for part, labels in baseline.items()}
    for result in results:
        if not result.get("error"):
            merged[str(result["part"])] = dict(sorted((result.get("queries") or {}).items()))
    return dict(sorted(merged.items()))


# --- The JSON ---------------------------------------------------------------------


def document(
    *,
    results: list[dict[str, Any]],
    scale: str,
    started: dt.datetime,
    finished: dt.datetime,
    machine: dict[str, Any],
    versions: dict[str, Any],
    commit: dict[str, Any],
    setup_seconds: float | None = None,
) -> dict[str, Any]:
    """The `--json` document: where and what ran, and every part's result."""
    return {
        "version": JSON_VERSION,
        "scale": scale,
        "started_at": started.isoformat(timespec="seconds"),
        "finished_at": finished.isoformat(timespec="seconds"),
        "seconds": round((finished - started).total_seconds(), 1),
        "setup_seconds": setup_seconds,
        "git": commit,
        "machine": machine,
        "versions": versions,
        "sizes": {str(r["part"]): r.get("sizes", {}) for r in results},
        "parts": results,
    }


# --- This machine -----------------------------------------------------------------


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def machine() -> dict[str, Any]:
    cpuinfo = _read("/proc/cpuinfo")
    model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.MULTILINE)
    meminfo = re.search(r"^MemTotal:\s*(\d+) kB", _read("/proc/meminfo"), re.MULTILINE)
    release = re.search(r'^PRETTY_NAME="?([^"\n]+)"?', _read("/etc/os-release"), re.MULTILINE)
    try:
        load: list[float] | None = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        load = None
    return {
        "cpu_model": model.group(1).strip() if model else platform.processor() or None,
        "cores": os.cpu_count(),
        "memory_gib": round(int(meminfo.group(1)) / 1024 / 1024, 1) if meminfo else None,
        "os": release.group(1) if release else platform.system(),
        "kernel": platform.release(),
        "architecture": platform.machine(),
        # The machine may be shared: the load when the run started says how quiet it was.
        "load_average_at_start": load,
    }


def _tool_version(command: list[str]) -> str | None:
    try:
        done = subprocess.run(  # noqa: S603 - fixed commands, no input
            command, capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = (done.stdout or done.stderr).strip().splitlines()
    return text[0] if text else None


def versions(*, postgres: str | None = None, redis: str | None = None) -> dict[str, Any]:
    """Python, the packages the figures depend on, the servers and the load tools."""
    found: dict[str, Any] = {
        "python": platform.python_version(),
        "postgresql": postgres,
        "redis_server": redis,
    }
    for package in PYTHON_PACKAGES:
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = None
    for tool, command in TOOLS.items():
        found[tool] = _tool_version(command)
    return found


def git_commit(root: Path) -> dict[str, Any]:
    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(  # noqa: S603 - fixed commands, no input
                ["git", *args],  # noqa: S607 - git from PATH, as a developer runs it
                cwd=root,
                capture_output=True,
                text=True,
                timeout=10,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    status = git("status", "--porcelain", "--untracked-files=no")
    return {
        "commit": git("rev-parse", "HEAD"),
        "branch": git("rev-parse", "--abbrev-ref", "HEAD"),
        "dirty": bool(status) if status is not None else None,
    }
