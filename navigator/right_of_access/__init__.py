"""A patient's right of access (HIPAA, 45 CFR 164.524): everything EquiNav holds on one
patient, for a program manager to hand over as a FHIR Bundle and as a PDF. To change…

- what is read, the tables exported or left out (and why), and how staff are named:
  `records` (`patient_record_for`, `EXPORTED`, `EXCLUDED`);
- the JSON record of every field of every row (attached to the bundle): `document`;
- the FHIR R4 Bundle and which resource each kind of row becomes: `fhir_bundle`;
- the readable PDF report: `pdf` (who the patient is, referrals, screenings, EHR data,
  messages, the figures kept), `pdf_cases` (each navigation case's section) and
  `pdf_layout` (page, type, tables, page numbers).

The pages and the API that hand them out, managers only and audited, are
`navigator/views/right_of_access.py` and `navigator/api/right_of_access.py`.
"""
