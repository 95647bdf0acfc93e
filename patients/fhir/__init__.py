"""FHIR R4 intake: bundles from EHR feeds into patients and clinical resources, and FHIR
Bulk Data exports (NDJSON per resource type) in parallel batches.

`importer.fhir_import` is the entry point for one bundle (the API, `import_fhir` and the
demo call it); `bulk.fhir_bulk_import_create` for an export (the `fhir_bulk_import`
command; the `imports` queue's workers run `bulk.fhir_bulk_work`).
To change:
- size limits, the bundle types accepted, which resource types are imported and where
  each names its patient, JSON decoding: `parse.py`;
- checking each resource against the R4 model, its codes, error wording, and phase one
  as a whole (`bundle_read`): `validate.py`;
- a resource's id in its feed, resolving references to the patient, and matching a feed
  Patient to ours (link, MRN, or a new patient with a data-quality warning): `identity.py`;
- phase two (resources, the import record, warnings, the care-gap refresh it queues):
  `write.py`;
- the retry on a concurrent import and the error mapping: `importer.py`;
- how a FHIR Patient maps to our fields: `patient_mapping.py`; OperationOutcome issues:
  `outcome.py`;
- bulk: the export's files (folder or $export manifest), cutting them into batches, and
  checking each NDJSON line with the bundle's rules, each bad line's reason: `bulk_read.py`;
  the cheap check that vouches for common lines before the R4 model: `fast_check.py`;
  writing one batch set-based (bulk inserts of new patients, `patient_link_or_create` for
  the rest, upserts keyed on source/type/id skipping unchanged hashes): `bulk_write.py`;
  its PostgreSQL inserts fed by one jsonb document (the rows bulk_create would write,
  without its per-value cost): `bulk_insert.py` (a new patient is checked as the referral
  import checks one: `patients.services.patients.patients_cleaner`); a batch's long
  "one of these values" lookups as one array parameter: `config.any_of`;
  the job (creating it, claiming and importing a batch, the phases, restart, progress):
  `bulk.py`. The care gaps at the end: `navigator.intake.fhir_bulk`.
"""
