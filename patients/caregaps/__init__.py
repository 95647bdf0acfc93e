"""The care-gap engine and the eCQM measures: who is due for which screening, and why.

From a `CareGap` row (patients.models) back to the rule that produced it:

- `status`, `summary`, `reasons`, `evidence`, `next_due_on`, `overdue_since`,
  `recheck_on` are one `GapResult` of `engine.evaluate_care_gap`, which decides
  in three steps: 1. eligibility (deceased, sex, smoking history, age range; for a
  control programme, the condition too), 2. exclusions (every concept of an
  exclusion found in the look-back), 3. for a screening programme the screening
  whose interval runs longest ("overdue" when its next due day has passed, or when
  there is none); for a control programme (diabetes) the most recent lab of the
  year against the target and threshold: `control.py` (untested, no_result,
  poor_control, above_target, at_target; the next lab due), reading "the most
  recent" as CMS122 does (`glycemic.py`, which the measure imports too). To
  change how a status is decided, open `engine.py` (a batch prepares each
  program's rules once, `prepare_rules`, and evaluates them per patient,
  `evaluate_prepared`; `evaluate_care_gap` does both).
- The numbers the engine applies (age range, intervals, look-backs, which
  concept each modality and exclusion asks about) are data, not code: the
  ScreeningProgram, ScreeningModality and ProgramExclusion rows (edited in the
  admin, versioned), read as plain data by
  `patients.selectors.program_rules_snapshot`. To change a rule, change those
  rows; to change what a rule can say, open `engine.py` and that snapshot.
- Which codes a concept means: the loaded official value sets (`valuesets.py`
  loads VSAC expansions), or until then the starter codes in
  `builtin_codes.py` (seeded by migration 0004; diabetes, HbA1c and GMI by 0031,
  naming CMS122's value sets and code); `patients.selectors
  .concept_codes` picks between them. Code systems and their aliases: `codes.py`.
- Which FHIR resource counts as evidence, and when it happened: `engine.py`
  (`_counts`, `_Evidence.matches`, `_resource_span`) over `fhirdata.py` (reading
  resources as QI-Core/CQL does, and the status values Status.cql counts,
  shared with the measures) and `medication_period.py` (when a medication
  request's supply lasts).
- Dates: `datetimes.py` (CQL DateTime values, parsing FHIR dates),
  `temporal.py` (three-valued comparisons and intervals, as cql-execution
  does them), `dates.py` (calendar arithmetic: ages, + N months).
- When gaps are recomputed and stored (a batch of patients, the nightly run,
  after an EHR feed changes a patient's data): `patients.services.care_gaps`
  (`care_gaps_recompute`), and the cases opened or closed from them:
  `navigator.intake.care_gaps` (`care_gaps_refresh`; the nightly run's batches,
  one task each: `care_gaps_refresh_enqueue`, `care_gaps_refresh_batch`), run by
  `patients.tasks`.

The eCQMs (CMS130, CMS125, CMS124 and the inverse CMS122), computed over the
same FHIR data for measure reports, are in `measures/` (its `__init__` is their
map); a lab result read as a CQL Quantity and compared with a threshold (an
HbA1c above 9 %): `quantities.py`.

Measurement periods for population measures (calendar years, rolling quarters
labelled "2025 Q1", parsing labels): `periods.py`. The population measures the
disparities dashboard can show (eCQM or care-gap rules, per program):
`population_measures.py`.

Imports go one way: measures → engine's base (fhirdata, medication_period,
quantities, glycemic, temporal, datetimes, dates, codes); the engine never imports
the measures.
"""
