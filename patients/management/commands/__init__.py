"""`import_fhir` (bundles from files, as the API takes them), `load_valuesets` (official
VSAC expansions), `measure_report` (a CMS measure report for a period),
`find_duplicate_patients` (likely duplicates, by id)."""
