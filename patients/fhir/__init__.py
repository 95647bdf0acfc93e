"""FHIR R4 intake: bundles from EHR feeds into patients and clinical resources.

`importer.fhir_import` is the entry point (the API, `import_fhir` and the demo call it).
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
  `outcome.py`.
"""
