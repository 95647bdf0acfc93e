"""Intake: what turns a referral or a newly overdue patient into a navigation case, and
what makes two records of one patient one.

It sits above both the patients services (patients, referrals, care gaps) and the
case kernel (`navigator.cases`) and case services, so neither has to import the other.
Celery tasks and views call it.

To change:
- a single referral (checks, patient matching, opening or joining the case, its event):
  `referrals.py` (`referral_create`);
- a CSV of referrals, imported as a background job (checked and stored in the
  request, then batches with set-based lookups and bulk writes; modes, duplicates, row
  errors, counts, restarts): `referral_import.py` (the job: start, claim, batches,
  finish); one batch, checked and written in its transaction: `referral_batch.py`; the
  bulk write of its new patients' rows (COPY on PostgreSQL): `referral_write.py`; the
  same job run at once, in the
  caller's process: `referral_uploads.py` (`referrals_upload`); reading and checking
  the file is `patients.uploads.parse`;
- an import job whose task was lost (queued or running for ever on the embedded
  broker), re-enqueued by beat: `import_sweep.py` (`imports_resume_stuck`);
- the care-gap refresh (batches; cases opened for newly overdue patients, closed for
  those the EHR shows screened): `care_gaps.py` (`care_gaps_refresh`); the nightly run
  split into one `caregaps` task per 1,000 patients due (`care_gaps_refresh_enqueue`)
  and one such batch (`care_gaps_refresh_batch`);
- the care gaps of the patients a FHIR bulk import touched, in batches recorded on the
  job: `fhir_bulk.py` (`fhir_bulk_care_gaps_work`);
- merging a likely duplicate into the record kept (what moves, what is refused):
  `patient_merge.py` (`patient_merge`).
"""
