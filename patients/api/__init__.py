"""The patients REST API: referrals, FHIR intake and measure reports.

To change:
- referrals (`/api/referrals/`) and their JSON: `views.py`, `serializers.py`;
- the CSV upload of referrals and its template: `upload.py`;
- FHIR bundles from an EHR feed (`/api/fhir/`, answered with OperationOutcomes):
  `fhir.py`;
- CMS measure reports as FHIR MeasureReports: `measures.py`;
- routes: `urls.py`.
"""
