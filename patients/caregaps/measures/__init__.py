"""The eCQMs: CMS130, CMS125, CMS124 and CMS122 (2025, QI-Core 4.1.1), from stored FHIR data.

Each module follows its measure's CQL (in ../shared/ecqm/<measure>/cql/, beside the
repository) statement by statement; the CQL name is quoted in each docstring so the two can be read
side by side. Value sets come from the database (`load_valuesets`); where one
is not loaded, the concept's built-in starter codes stand in and the report
says so.

To change or read a measure, open its module:

- `cms130.py`: Colorectal Cancer Screening (ColonCancerScreeningFHIR 0.1.000)
- `cms125.py`: Breast Cancer Screening (BreastCancerScreeningFHIR 0.0.001)
- `cms124.py`: Cervical Cancer Screening (CervicalCancerScreeningFHIR 0.0.001)
- `cms122.py`: Diabetes: Glycemic Status Assessment Greater Than 9%
  (DiabetesGlycemicStatusAssessmentGreaterThan9PercentFHIR 0.1.002), an inverse
  measure (`Measure.inverse`: lower is better); its lab values are read by
  patients.caregaps.quantities

The CQL libraries they include, one module each in `libraries/`:

- `libraries/status.py`: Status 1.8.000 (performed, resulted, ordered)
- `libraries/hospice.py`: Hospice 6.12.000 ("Has Hospice Services")
- `libraries/palliative_care.py`: PalliativeCare 1.11.000
- `libraries/advanced_illness_frailty.py`: AdvancedIllnessandFrailty 1.16.000
  (frailty with advanced illness, nursing homes)
- `libraries/adult_outpatient_encounters.py`: AdultOutpatientEncounters
  4.11.000 ("Qualifying Encounters")

FHIRHelpers, QICoreCommon and CumulativeMedicationDuration are ported in the
engine's base, shared with the care-gap engine: patients.caregaps.fhirdata,
patients.caregaps.medication_period, patients.caregaps.temporal.

The machinery:

- `context.py`: `Context` (one patient in one measurement period: retrieves,
  timing elements as CQL intervals, evidence), `Terminology` (codes per value
  set), and the CQL expressions every measure uses (`exists`, `ends during`, ...).
- `measure.py`: `Measure` and `Populations`: how a proportion measure's
  populations combine (fqm-execution's rules), and which way a rate is better
  (`inverse`, `improvement_notation`).
- `registry.py`: `MEASURES`, the measures by id. To add a measure, write its
  module and list it there.
- `evaluation.py`: the batched reads of the patients known from EHR feeds
  (`patient_records`, `measure_terminology`) and `evaluated_batches`: each batch
  read once, then evaluated for every measure × period asked for.
- `reports.py`: measure reports over every patient known from EHR feeds
  (FHIR MeasureReport output), for `manage.py measure_report` and the measure
  report API. The populations stored per patient and period for the
  disparities dashboard: `patients.services.measure_populations`.
"""
