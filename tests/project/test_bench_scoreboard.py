"""`make bench`'s scoreboard, query guard and JSON, without running a bench.

tests/benchmarks is not collected (it measures, it asserts nothing); its pure parts
are checked here on hand-made part results.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest

from tests.benchmarks import run, scoreboard
from tests.benchmarks.harness import Figure, PartResult


def referral_result() -> dict:
    return PartResult(
        part="referral_import",
        figures=[
            Figure(
                name="referral import, end to end",
                value=12500.0,
                unit="rows/s",
                floor_name="PostgreSQL COPY of the same rows",
                floor_value=250000.0,
                target="≥ 10,000 rows/s",
                met=True,
            ),
            Figure(
                name="worklist p95",
                value=450.0,
                unit="ms",
                higher_is_better=False,
                floor_name="pgbench of the same SQL",
                floor_value=300.0,
                target="≤ 300 ms",
                met=False,
            ),
        ],
        queries={"per batch of 1,000 rows": 12, "per upload": 5},
        sizes={"rows": 100_000},
    ).as_dict()


def test_the_scoreboard_shows_each_figure_beside_its_floor_ratio_target_and_mark():
    table = scoreboard.format_table([referral_result()])
    header, rule, first, second = table.splitlines()

    assert header.split()[:3] == ["part", "figure", "value"]
    assert set(rule) <= {"-", " "}
    assert "12,500 rows/s" in first
    assert "PostgreSQL COPY of the same rows" in first
    assert "250,000 rows/s" in first
    assert "0.05" in first  # 12,500 ÷ 250,000
    assert "≥ 10,000 rows/s" in first
    assert first.endswith("✓")
    assert "450 ms" in second and "1.50" in second and second.endswith("✗")


def test_a_figure_without_floor_or_target_shows_dashes():
    result = PartResult(part="ecqm", figures=[Figure(name="report", value=2.5, unit="s")]).as_dict()

    (row,) = scoreboard.rows([result])

    assert row == ("ecqm", "report", "2.5 s", "—", "—", "—", "—", "—")


def test_a_part_that_failed_is_one_row_saying_so():
    (row,) = scoreboard.rows([{"part": "sweep", "error": "exit status 1"}])

    assert row[0] == "sweep"
    assert row[1] == "FAILED: exit status 1"
    assert row[-1] == "✗"


@pytest.mark.parametrize(
    ("value", "shown"),
    [(1234567.8, "1,234,568"), (123.4, "123"), (12.34, "12.3"), (1.2345, "1.23"), (None, "—")],
)
def test_numbers_are_shown_as_people_read_them(value, shown):
    assert scoreboard.number(value) == shown


def test_the_guard_fails_when_a_query_count_grows_and_names_part_label_old_and_new():
    baseline = {"referral_import": {"per batch of 1,000 rows": 10, "per upload": 5}}

    check = scoreboard.compare_queries(baseline, [referral_result()])

    assert check.failed
    assert check.grown == ["referral_import / per batch of 1,000 rows: 10 → 12"]
    assert "GREW" in check.report()
    assert "referral_import / per batch of 1,000 rows: 10 → 12" in check.report()


def test_a_count_that_shrank_is_a_note_to_update_the_baseline_not_a_failure():
    baseline = {"referral_import": {"per batch of 1,000 rows": 14, "per upload": 5}}

    check = scoreboard.compare_queries(baseline, [referral_result()])

    assert not check.failed
    assert check.shrunk == ["referral_import / per batch of 1,000 rows: 14 → 12"]
    assert "update the baseline" in check.report()


def test_a_baseline_label_the_run_no_longer_measures_is_reported_and_fails():
    baseline = {"referral_import": {"per batch of 1,000 rows": 12, "per upload": 5, "gone": 3}}

    check = scoreboard.compare_queries(baseline, [referral_result()])

    assert check.failed
    assert check.missing == ["referral_import / gone: 3 in the baseline, not measured"]
    assert "MISSING" in check.report()


def test_a_new_label_is_a_note_and_parts_that_did_not_run_are_not_checked():
    baseline = {"referral_import": {"per upload": 5}, "worklist": {"per page": 5}}

    check = scoreboard.compare_queries(baseline, [referral_result()])

    assert not check.failed
    assert check.new == ["referral_import / per batch of 1,000 rows: 12"]
    assert check.missing == []


def test_counts_as_in_the_baseline_pass_quietly():
    baseline = {"referral_import": {"per batch of 1,000 rows": 12, "per upload": 5}}

    check = scoreboard.compare_queries(baseline, [referral_result()])

    assert not check.failed
    assert check.report() == "Query counts: as in the baseline."


def test_a_part_that_failed_is_named_as_not_checked_rather_than_passing_quietly():
    baseline = {"sweep": {"per batch": 3}}

    check = scoreboard.compare_queries(baseline, [{"part": "sweep", "error": "exit status 1"}])

    assert check.unchecked == ["sweep"]
    assert check.missing == []
    assert "Parts not checked (they failed):\n  sweep" in check.report()


def test_writing_the_baseline_replaces_only_the_parts_that_ran():
    baseline = {"referral_import": {"old": 1}, "worklist": {"per page": 5}}

    merged = scoreboard.updated_baseline(
        baseline, [referral_result(), {"part": "sweep", "error": "boom"}]
    )

    assert merged == {
        "referral_import": {"per batch of 1,000 rows": 12, "per upload": 5},
        "worklist": {"per page": 5},
    }


def test_the_json_holds_machine_versions_commit_scale_sizes_times_and_every_part():
    started = dt.datetime(2026, 12, 5, 1, 0, tzinfo=dt.UTC)

    doc = scoreboard.document(
        results=[referral_result()],
        scale="small",
        started=started,
        finished=started + dt.timedelta(seconds=90),
        machine={"cpu_model": "x", "cores": 2},
        versions={"python": "3.11"},
        commit={"commit": "abc", "dirty": False},
        setup_seconds=20.0,
    )

    assert json.loads(json.dumps(doc)) == doc  # plain JSON throughout
    assert doc["version"] == scoreboard.JSON_VERSION
    assert doc["scale"] == "small"
    assert doc["started_at"] == "2026-12-05T01:00:00+00:00"
    assert doc["finished_at"] == "2026-12-05T01:01:30+00:00"
    assert doc["seconds"] == 90.0
    assert doc["sizes"] == {"referral_import": {"rows": 100_000}}
    assert doc["machine"]["cores"] == 2
    assert doc["git"]["commit"] == "abc"
    (part,) = doc["parts"]
    assert part["figures"][0]["floor_value"] == 250000.0
    assert set(part) >= {"part", "figures", "queries", "sizes", "details", "notes"}


def test_this_machine_and_its_versions_are_described():
    machine = scoreboard.machine()
    versions = scoreboard.versions(postgres="16.4", redis="7.2.4")

    assert set(machine) >= {"cpu_model", "cores", "memory_gib", "os", "kernel"}
    assert machine["cores"] >= 1
    assert versions["postgresql"] == "16.4"
    assert versions["redis_server"] == "7.2.4"
    assert versions["django"].startswith("5.")
    assert set(versions) >= {"python", "psycopg", "celery", "gunicorn", "wrk", "pgbench"}


def test_the_runner_names_a_part_that_is_not_installed(monkeypatch):
    monkeypatch.setattr(run.importlib.util, "find_spec", lambda name: None)

    with pytest.raises(run.PartNotInstalled, match=r"Part not installed: worklist"):
        run.selected_parts("worklist")


def test_the_runner_names_a_part_module_not_yet_on_the_contract(monkeypatch):
    monkeypatch.setattr(run, "_module", lambda name: object())  # a module with no run()

    with pytest.raises(run.PartNotInstalled, match=r"not on the contract yet: sweep"):
        run.selected_parts("sweep")


def test_the_runner_refuses_an_unknown_part_and_keeps_the_registry_order():
    with pytest.raises(SystemExit, match="Unknown part"):
        run.selected_parts("ecqm,nope")

    assert run.selected_parts("equity,ecqm") == ["ecqm", "equity"]


def test_the_template_database_sits_beside_the_bench_database():
    url = run.template_url("postgres://postgres@127.0.0.1:5432/bench_x?sslmode=disable")

    assert url == "postgres://postgres@127.0.0.1:5432/bench_x_template?sslmode=disable"
