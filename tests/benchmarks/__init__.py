"""`make bench`: the scoreboard (not collected by pytest; it measures, asserts nothing).

- run.py: the runner (`python tests/benchmarks/run.py --help`): the part registry, a
  process and a fresh database per part, the table, the JSON, the query guard.
- harness.py: the contract every part follows (Scale, Figure, PartResult, prepare,
  standalone, QueryCounter).
- scoreboard.py: the table, the JSON document and the baseline comparison (pure).
- baseline_queries.json: each part's query counts at `--scale small` (CI's guard).
- Parts, `run(*, scale) -> PartResult` each: referral_import, fhir, care_gaps,
  worklist, sweep, ecqm (the CMS130/125/124 report), equity (the disparities
  dashboard).
"""
