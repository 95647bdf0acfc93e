"""Writes for the patients app, one module per entity (reads live in `patients.selectors`).

To change:
- how a patient is found by MRN or registered, with phones and race/ethnicity: `patients.py`
  (`PatientInput`, `PhoneInput`, `patient_find_or_create`); a patient's race/ethnicity
  answers and their `race_group`, together and nowhere else: `patient_race_set` there;
- the referral record: `referrals.py` (`referral_record`). A referral that opens or
  joins a case is `navigator.intake.referrals.referral_create`;
- a program's care-gap rules and their versions: `program_rules.py`;
- a lab value staff copy from an outside report (HbA1c, GMI), stored as a laboratory
  Observation with its provenance: `labs.py` (`lab_result_record`; on a case:
  `navigator.services.labs.case_lab_record`);
- computing and storing care gaps: `care_gaps.py` (`care_gaps_recompute`). Opening and
  closing cases from them is `navigator.intake.care_gaps.care_gaps_refresh`;
- the population measures stored per patient and period for the disparities dashboard
  (eCQMs over EHR patients, care-gap rules over everyone; full and partial refreshes,
  asking for a period): `measure_populations.py`. Which measures exist:
  `patients.caregaps.population_measures.POPULATION_MEASURES`.

Nothing here imports navigator services, the case kernel or intake: those sit above.
"""
