"""The patients app's models, one module per subject; import them from `patients.models`.

This package imports every model, choice and constant so that Django finds the
models and `from patients.models import X` works everywhere (and the migrations'
`patients.models.validate_*` paths keep resolving).

To change:
- the time zone or "not in the future" field validators: `validators.py`;
- clinics: `clinics.py`;
- patients, their demographics choices (sex, language proficiency, insurance, smoking),
  race/ethnicity, whether a language was asked and who answered (`LanguageStatus`,
  `DemographicSource`) and phones: `people.py`;
- programmes and their rules (modalities, exclusions, rule versions), of either kind
  (`ProgramKind`: screening, or control with its condition, lab concepts, target,
  poor-control threshold and lab intervals), screening results and the tests done
  (`ScreeningEvent`): `programs.py`;
- result categories and the follow-up pathways a result calls for: `results.py`;
- referrals, CSV uploads, and the words a clinic sees for a case's stage: `referrals.py`;
- code concepts, starter codes and official value sets: `codes.py`;
- EHR feeds: sources (`FhirSourceKind`: an EHR feed, or a clinic's labs entered by staff,
  never imported into; `FhirSource.objects.ehr_feeds()`), patient links, clinical
  resources, imports, data-quality warnings: `fhir.py`; FHIR Bulk Data import jobs,
  their files, batches, rejected lines and touched patients: `fhir_bulk.py`;
- care gaps, their statuses (a control programme's too) and which of them are a gap
  (`GAP_STATUSES`), and each patient's stamp of when they were last computed
  (`CareGapStamp`): `care_gaps.py`;
- population measures stored per patient and period for the disparities dashboard
  (`MeasurePopulation`) and the periods computed for everyone (`MeasurePeriod`): `measures.py`.
"""

from patients.models.care_gaps import GAP_STATUSES, CareGap, CareGapStamp, CareGapStatus
from patients.models.clinics import Clinic
from patients.models.codes import CodeConcept, ConceptCode, ConceptKind, ValueSet, ValueSetCode
from patients.models.fhir import (
    STAFF_ENTRY_KEY_PREFIX,
    ClinicalResource,
    DataQualityWarning,
    FhirImport,
    FhirSource,
    FhirSourceKind,
    PatientSourceLink,
)
from patients.models.fhir_bulk import (
    FhirBulkChunk,
    FhirBulkFile,
    FhirBulkImport,
    FhirBulkRejection,
    FhirBulkTouchedPatient,
)
from patients.models.measures import MeasurePeriod, MeasurePopulation
from patients.models.people import (
    LIMITED_ENGLISH_LEVELS,
    SOURCE_ORDER,
    DemographicSource,
    EnglishProficiency,
    InsuranceType,
    LanguageStatus,
    Patient,
    PatientMerge,
    PatientPhone,
    PatientRaceEthnicity,
    PhoneType,
    PreferredChannel,
    RaceEthnicity,
    RaceGroup,
    Sex,
    SmokingStatus,
    race_group_of,
)
from patients.models.programs import (
    CONTROL_FIELDS,
    RECORDABLE_RESULTS,
    ModalityRole,
    ProgramExclusion,
    ProgramKind,
    RuleVersion,
    ScreeningEvent,
    ScreeningModality,
    ScreeningProgram,
    ScreeningResult,
    Sexes,
)
from patients.models.referrals import (
    CLINIC_STATUS_LABELS,
    ClinicDigestPreference,
    Referral,
    ReferralSeen,
    ReferralUpload,
    ReferralUploadContent,
)
from patients.models.results import (
    RESULT_FOR_MEANING,
    FollowUpKind,
    FollowUpPathway,
    ResultCategory,
    ResultMeaning,
)
from patients.models.validators import validate_not_in_future, validate_time_zone

__all__ = [
    "validate_time_zone",
    "validate_not_in_future",
    "Clinic",
    "Sex",
    "RaceEthnicity",
    "RaceGroup",
    "race_group_of",
    "EnglishProficiency",
    "LIMITED_ENGLISH_LEVELS",
    "DemographicSource",
    "SOURCE_ORDER",
    "LanguageStatus",
    "InsuranceType",
    "SmokingStatus",
    "PreferredChannel",
    "Patient",
    "PatientMerge",
    "PatientRaceEthnicity",
    "PhoneType",
    "PatientPhone",
    "ConceptKind",
    "CodeConcept",
    "ConceptCode",
    "ValueSet",
    "ValueSetCode",
    "Sexes",
    "ScreeningProgram",
    "ProgramKind",
    "CONTROL_FIELDS",
    "ScreeningModality",
    "ScreeningResult",
    "ScreeningEvent",
    "ProgramExclusion",
    "RuleVersion",
    "RECORDABLE_RESULTS",
    "ModalityRole",
    "ResultMeaning",
    "RESULT_FOR_MEANING",
    "ResultCategory",
    "FollowUpKind",
    "FollowUpPathway",
    "Referral",
    "ReferralSeen",
    "ReferralUpload",
    "ReferralUploadContent",
    "ClinicDigestPreference",
    "CLINIC_STATUS_LABELS",
    "FhirSource",
    "FhirSourceKind",
    "STAFF_ENTRY_KEY_PREFIX",
    "PatientSourceLink",
    "ClinicalResource",
    "FhirImport",
    "DataQualityWarning",
    "FhirBulkImport",
    "FhirBulkFile",
    "FhirBulkChunk",
    "FhirBulkRejection",
    "FhirBulkTouchedPatient",
    "CareGapStatus",
    "GAP_STATUSES",
    "CareGap",
    "CareGapStamp",
    "MeasurePopulation",
    "MeasurePeriod",
]
