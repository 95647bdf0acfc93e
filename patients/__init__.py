"""The patients app: patients, clinics, referrals, screening programs, EHR data and care gaps.

It sits below the case kernel: nothing here but the top floor (views, API, urls,
tasks, admin, management commands) imports navigator services, `navigator.cases`
or `navigator.intake`. Turning a referral or a newly overdue patient into a
navigation case is `navigator.intake`.

To change:
- a model, a choice or a field validator: `models/` (its `__init__` maps the modules);
- how a patient is found or registered: `services/patients.py` (names compared by
  `names.py`; MRNs are compared
  trimmed and in capitals in every path: `mrn.py`); the referral record:
  `services/referrals.py` (with when a user last opened one); a single referral with its
  case, and a clinician's override of a program's criteria: `navigator/intake/referrals.py`;
- a program's rules and their versions: `services/program_rules.py` (form: `forms.py`,
  page: `views.program_rules`); what results mean and what each calls for next
  (result categories, follow-up pathways): models `models/results.py`, reads
  `result_pathways.py`, managers' edits `services/result_pathways.py`, page
  `pathway_views.py`;
- what is read, and who may see which patients, referrals and care gaps:
  `selectors.py`; which patients are likely one person: `duplicates.py`;
- the care-gap engine (why a patient is due or overdue), the eCQMs (CMS130, CMS125,
  CMS124, CMS122) and their reports, codes and value sets: `caregaps/` (its `__init__` walks
  from a `CareGap` row to the rule that produced it);
- storing care gaps: `services/care_gaps.py`; the nightly refresh that opens and closes
  cases from them, fanned out one `caregaps` task per 1,000 patients due:
  `navigator/intake/care_gaps.py` (Celery tasks: `tasks.py`, `refresh_care_gaps` and
  `refresh_care_gaps_batch`);
- importing FHIR bundles from EHR feeds: `fhir/` (its `__init__` maps the phases);
- the CSV of referrals: `uploads/` (template, parsing); importing its rows as a job:
  `navigator/intake/referral_import.py` (its task: `tasks.py`; its page and progress
  partial: `upload_views.py`; the `import_referrals` command);
- referral, patient, care-gap and program-rule pages: `views.py`, `forms.py`, `urls.py`,
  `templates/patients/`; the REST API: `api/`;
- the admin: `admin.py`; languages (ISO 639): `languages.py`; the demo EHR feed:
  `demo_ehr.py`, and the equity dashboard's demo population (race and ethnicity, a
  dated screening history that tells the story): `demo_population.py`, and its
  diabetes (HbA1c/GMI over the story's quarters, CMS122's narrowing gap):
  `demo_diabetes.py`; management
  commands (`import_fhir`, `import_referrals`, `load_valuesets`, `measure_report`,
  `measure_populations`, `find_duplicate_patients`): `management/commands/`.
"""
