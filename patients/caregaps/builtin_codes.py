"""The concepts the care-gap engine asks about, with a few common starter codes each.

These starter codes let a new installation recognise the commonest tests,
exclusions and visits before anyone has loaded the official value sets. Once
`manage.py load_valuesets` loads a concept's value sets (VSAC publishes them;
they come with each eCQM), the official expansion replaces the starter codes
for that concept. `tests/caregaps/test_codes.py` checks that every starter code here is
a member of the official value set it stands in for.

Data only: the data migration that seeds these imports this module, so it must
not import models. The code systems named here: patients.caregaps.codes.
"""

from __future__ import annotations

from patients.caregaps.codes import CPT, HCPCS, ICD10CM, LOINC, RXNORM, SNOMED, vsac
from patients.caregaps.glycemic import (
    DIABETES_URL,
    GLUCOSE_MANAGEMENT_INDICATOR,
    HBA1C_LAB_TEST_URL,
)

# key, name, kind, official value sets, starter codes [(system, code, display)]
CONCEPTS: list[dict] = [
    # --- Screening tests ----------------------------------------------------------
    {
        "key": "colonoscopy",
        "name": "Colonoscopy",
        "kind": "screening",
        "value_sets": [vsac("2.16.840.1.113883.3.464.1003.108.12.1020")],
        "codes": [
            (CPT, "45378", "Colonoscopy, diagnostic"),
            (CPT, "45380", "Colonoscopy with biopsy"),
            (CPT, "45384", "Colonoscopy with removal of lesion by hot biopsy forceps"),
            (CPT, "45385", "Colonoscopy with removal of lesion by snare"),
            (HCPCS, "G0105", "Colorectal cancer screening; colonoscopy, high risk"),
            (HCPCS, "G0121", "Colorectal cancer screening; colonoscopy, not high risk"),
            (SNOMED, "73761001", "Colonoscopy"),
        ],
    },
    {
        "key": "fobt",
        "name": "Fecal occult blood test (FIT or gFOBT)",
        "kind": "screening",
        "value_sets": [vsac("2.16.840.1.113883.3.464.1003.198.12.1011")],
        "codes": [
            (
                LOINC,
                "29771-3",
                "Hemoglobin.gastrointestinal.lower [Presence] in Stool by Immunoassay",
            ),
            (
                LOINC,
                "57905-2",
                "Hemoglobin.gastrointestinal.lower [Presence] in Stool by Immunoassay --1st specimen",
            ),
            (
                LOINC,
                "58453-2",
                "Hemoglobin.gastrointestinal.lower [Mass/volume] in Stool by Immunoassay",
            ),
            (LOINC, "2335-8", "Hemoglobin.gastrointestinal [Presence] in Stool"),
            (LOINC, "12503-9", "Hemoglobin.gastrointestinal [Presence] in Stool --4th specimen"),
        ],
    },
    {
        "key": "sdna-fit",
        "name": "Stool DNA with FIT",
        "kind": "screening",
        "value_sets": [vsac("2.16.840.1.113883.3.464.1003.108.12.1039")],
        "codes": [
            (
                LOINC,
                "77353-1",
                "Noninvasive colorectal cancer DNA and occult blood screening [Interpretation] in Stool Narrative",
            ),
            (
                LOINC,
                "77354-9",
                "Noninvasive colorectal cancer DNA and occult blood screening [Presence] in Stool",
            ),
        ],
    },
    {
        "key": "flexible-sigmoidoscopy",
        "name": "Flexible sigmoidoscopy",
        "kind": "screening",
        "value_sets": [vsac("2.16.840.1.113883.3.464.1003.198.12.1010")],
        "codes": [
            (CPT, "45330", "Sigmoidoscopy, flexible; diagnostic"),
            (CPT, "45331", "Sigmoidoscopy, flexible; with biopsy"),
            (HCPCS, "G0104", "Colorectal cancer screening; flexible sigmoidoscopy"),
            (SNOMED, "44441009", "Flexible fiberoptic sigmoidoscopy"),
        ],
    },
    {
        "key": "ct-colonography",
        "name": "CT colonography",
        "kind": "screening",
        "value_sets": [vsac("2.16.840.1.113883.3.464.1003.108.12.1038")],
        "codes": [
            (LOINC, "60515-4", "CT Abdomen and Pelvis W air contrast PR"),
            (LOINC, "72531-7", "CT Colon and Rectum W air contrast PR"),
        ],
    },
    {
        "key": "mammography",
        "name": "Mammography",
        "kind": "screening",
        "value_sets": [vsac("2.16.840.1.113883.3.464.1003.108.12.1018")],
        "codes": [
            (LOINC, "24604-1", "MG Breast Diagnostic Limited Views"),
            (LOINC, "24606-6", "MG Breast Screening"),
            (LOINC, "26175-0", "MG Breast - bilateral Screening"),
            (LOINC, "26346-7", "MG Breast - bilateral Diagnostic"),
            (LOINC, "36319-2", "MG Breast - bilateral Views"),
        ],
    },
    {
        "key": "pap-test",
        "name": "Cervical cytology (Pap test)",
        "kind": "screening",
        "value_sets": [vsac("2.16.840.1.113883.3.464.1003.108.12.1017")],
        "codes": [
            (LOINC, "10524-7", "Microscopic observation [Identifier] in Cervix by Cyto stain"),
            (
                LOINC,
                "18500-9",
                "Microscopic observation [Identifier] in Cervix by Cyto stain.thin prep",
            ),
            (
                LOINC,
                "19762-4",
                "General categories [Interpretation] of Cervical or vaginal smear or scraping by Cyto stain",
            ),
            (
                LOINC,
                "33717-0",
                "Cytology report of Cervical or vaginal smear or scraping Cyto stain",
            ),
        ],
    },
    {
        "key": "hpv-test",
        "name": "High-risk HPV test",
        "kind": "screening",
        "value_sets": [vsac("2.16.840.1.113883.3.464.1003.110.12.1059")],
        "codes": [
            (
                LOINC,
                "21440-3",
                "Human papilloma virus 16+18+31+33+35+45+51+52+56 DNA [Presence] in Cervix by Probe",
            ),
            (
                LOINC,
                "30167-1",
                "Human papilloma virus 16+18+31+33+35+39+45+51+52+56+58+59+68 DNA [Presence] in Cervix by Probe",
            ),
            (
                LOINC,
                "59420-0",
                "Human papilloma virus 16+18+31+33+35+39+45+51+52+56+58+59+66+68 DNA [Presence] in Cervix by Probe",
            ),
            (
                LOINC,
                "71431-1",
                "Human papilloma virus 31+33+35+39+45+51+52+56+58+59+66+68 DNA [Presence] in Cervix by NAA with probe detection",
            ),
        ],
    },
    {
        "key": "ldct",
        "name": "Low-dose CT of the chest",
        "kind": "screening",
        "value_sets": [],
        "codes": [
            (CPT, "71271", "Computed tomography, thorax, low dose for lung cancer screening"),
            (HCPCS, "G0297", "Low dose CT scan (LDCT) for lung cancer screening"),
        ],
    },
    # --- Exclusions ---------------------------------------------------------------
    {
        "key": "colorectal-cancer",
        "name": "Colorectal cancer",
        "kind": "exclusion",
        "value_sets": [vsac("2.16.840.1.113883.3.464.1003.108.12.1001")],
        "codes": [
            (ICD10CM, "C18.9", "Malignant neoplasm of colon, unspecified"),
            (ICD10CM, "C19", "Malignant neoplasm of rectosigmoid junction"),
            (ICD10CM, "C20", "Malignant neoplasm of rectum"),
            (SNOMED, "363406005", "Malignant neoplasm of colon"),
        ],
    },
    {
        "key": "total-colectomy",
        "name": "Total colectomy",
        "kind": "exclusion",
        "value_sets": [vsac("2.16.840.1.113883.3.464.1003.198.12.1019")],
        "codes": [
            (CPT, "44150", "Colectomy, total, abdominal, without proctectomy; with ileostomy"),
            (CPT, "44155", "Colectomy, total, abdominal, with proctectomy; with ileostomy"),
            (
                CPT,
                "44210",
                "Laparoscopy, surgical; colectomy, total, abdominal, without proctectomy",
            ),
            (SNOMED, "26390003", "Total colectomy"),
        ],
    },
    {
        "key": "bilateral-mastectomy",
        "name": "Bilateral mastectomy",
        "kind": "exclusion",
        "value_sets": [
            vsac("2.16.840.1.113883.3.464.1003.198.12.1005"),
            vsac("2.16.840.1.113883.3.464.1003.198.12.1068"),
        ],
        "codes": [
            (SNOMED, "52314009", "Bilateral mastectomy"),
            (ICD10CM, "Z90.13", "Acquired absence of bilateral breasts and nipples"),
        ],
    },
    {
        "key": "right-mastectomy",
        "name": "Right mastectomy",
        "kind": "exclusion",
        "value_sets": [
            vsac("2.16.840.1.113883.3.464.1003.198.12.1134"),
            vsac("2.16.840.1.113883.3.464.1003.198.12.1070"),
        ],
        "codes": [
            (ICD10CM, "Z90.11", "Acquired absence of right breast and nipple"),
            (SNOMED, "429242008", "Right mastectomy"),
        ],
    },
    {
        "key": "left-mastectomy",
        "name": "Left mastectomy",
        "kind": "exclusion",
        "value_sets": [
            vsac("2.16.840.1.113883.3.464.1003.198.12.1133"),
            vsac("2.16.840.1.113883.3.464.1003.198.12.1069"),
        ],
        "codes": [
            (ICD10CM, "Z90.12", "Acquired absence of left breast and nipple"),
            (SNOMED, "429009003", "Left mastectomy"),
        ],
    },
    {
        "key": "unilateral-mastectomy-unspecified",
        "name": "Mastectomy, side not stated",
        "kind": "exclusion",
        "value_sets": [vsac("2.16.840.1.113883.3.464.1003.198.12.1071")],
        "codes": [
            (SNOMED, "248802009", "Absence of breast"),
        ],
    },
    {
        "key": "absence-of-cervix",
        "name": "Hysterectomy with no residual cervix, or absence of cervix",
        "kind": "exclusion",
        "value_sets": [
            vsac("2.16.840.1.113883.3.464.1003.198.12.1014"),
            vsac("2.16.840.1.113883.3.464.1003.111.12.1016"),
        ],
        "codes": [
            (CPT, "58150", "Total abdominal hysterectomy"),
            (CPT, "58570", "Laparoscopy, surgical, with total hysterectomy"),
            (ICD10CM, "Z90.710", "Acquired absence of both cervix and uterus"),
            (ICD10CM, "Q51.5", "Agenesis and aplasia of cervix"),
        ],
    },
    {
        "key": "hospice",
        "name": "Hospice care",
        "kind": "exclusion",
        "value_sets": [
            vsac("2.16.840.1.113883.3.464.1003.1003"),
            vsac("2.16.840.1.113883.3.526.3.1584"),
            vsac("2.16.840.1.113883.3.464.1003.1165"),
        ],
        "codes": [
            (SNOMED, "385763009", "Hospice care"),
            (SNOMED, "170935008", "Full care by hospice"),
            (HCPCS, "G9473", "Services performed by chaplain in the hospice setting"),
            (HCPCS, "Q5003", "Hospice care provided in nursing long term care facility"),
        ],
    },
    {
        "key": "palliative-care",
        "name": "Palliative care",
        "kind": "exclusion",
        "value_sets": [
            vsac("2.16.840.1.113883.3.464.1003.101.12.1090"),
            vsac("2.16.840.1.113883.3.464.1003.198.12.1135"),
            vsac("2.16.840.1.113883.3.464.1003.1167"),
        ],
        "codes": [
            (ICD10CM, "Z51.5", "Encounter for palliative care"),
            (SNOMED, "103735009", "Palliative care"),
            (HCPCS, "M1017", "Patient admitted to palliative care services"),
        ],
    },
    {
        "key": "frailty",
        "name": "Frailty (device, diagnosis, encounter or symptom)",
        "kind": "exclusion",
        "value_sets": [
            vsac("2.16.840.1.113883.3.464.1003.118.12.1300"),
            vsac("2.16.840.1.113883.3.464.1003.113.12.1074"),
            vsac("2.16.840.1.113883.3.464.1003.101.12.1088"),
            vsac("2.16.840.1.113883.3.464.1003.113.12.1075"),
        ],
        "codes": [
            (ICD10CM, "R54", "Age-related physical debility"),
            (SNOMED, "183240000", "Self-propelled wheelchair"),
            (ICD10CM, "R53.81", "Other malaise (debility)"),
            (ICD10CM, "R26.2", "Difficulty in walking"),
        ],
    },
    {
        "key": "advanced-illness",
        "name": "Advanced illness or dementia medication",
        "kind": "exclusion",
        "value_sets": [
            vsac("2.16.840.1.113883.3.464.1003.110.12.1082"),
            vsac("2.16.840.1.113883.3.464.1003.196.12.1510"),
        ],
        "codes": [
            (ICD10CM, "G30.9", "Alzheimer's disease, unspecified"),
            (ICD10CM, "C25.9", "Malignant neoplasm of pancreas, unspecified"),
            (ICD10CM, "I50.9", "Heart failure, unspecified"),
            (RXNORM, "312836", "rivastigmine 6 MG Oral Capsule"),
        ],
    },
    {
        "key": "long-term-care",
        "name": "Lives long term in a nursing home",
        "kind": "exclusion",
        "value_sets": [],
        "codes": [
            (SNOMED, "160734000", "Lives in a nursing home"),
        ],
    },
    # --- Control programmes: the condition and the labs (CMS122's, glycemic.py) -----
    {
        "key": "diabetes",
        "name": "Diabetes",
        "kind": "condition",
        "value_sets": [DIABETES_URL],
        "codes": [
            (ICD10CM, "E11.9", "Type 2 diabetes mellitus without complications"),
            (ICD10CM, "E11.65", "Type 2 diabetes mellitus with hyperglycemia"),
            (ICD10CM, "E10.9", "Type 1 diabetes mellitus without complications"),
            (SNOMED, "44054006", "Diabetes mellitus type 2"),
            (SNOMED, "46635009", "Diabetes mellitus type 1"),
        ],
    },
    {
        "key": "hba1c",
        "name": "HbA1c laboratory test",
        "kind": "lab",
        "value_sets": [HBA1C_LAB_TEST_URL],
        "codes": [
            (LOINC, "4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood"),
            (LOINC, "4549-2", "Hemoglobin A1c/Hemoglobin.total in Blood by Electrophoresis"),
            (LOINC, "17856-6", "Hemoglobin A1c/Hemoglobin.total in Blood by HPLC"),
        ],
    },
    {
        # A single code in CMS122, not a value set: its starter code is all there is.
        "key": "gmi",
        "name": "Glucose management indicator (GMI)",
        "kind": "lab",
        "value_sets": [],
        "codes": [(*GLUCOSE_MANAGEMENT_INDICATOR, "Glucose management indicator")],
    },
    # --- Qualifying encounters ----------------------------------------------------
    {
        "key": "outpatient-visit",
        "name": "Outpatient, preventive, home, telephone or virtual visit",
        "kind": "encounter",
        "value_sets": [
            vsac("2.16.840.1.113883.3.464.1003.101.12.1001"),
            vsac("2.16.840.1.113883.3.526.3.1240"),
            vsac("2.16.840.1.113883.3.464.1003.101.12.1025"),
            vsac("2.16.840.1.113883.3.464.1003.101.12.1023"),
            vsac("2.16.840.1.113883.3.464.1003.101.12.1016"),
            vsac("2.16.840.1.113883.3.464.1003.101.12.1089"),
            vsac("2.16.840.1.113883.3.464.1003.101.12.1080"),
        ],
        "codes": [
            (CPT, "99202", "Office or other outpatient visit, new patient"),
            (CPT, "99213", "Office or other outpatient visit, established patient"),
            (CPT, "99214", "Office or other outpatient visit, established patient"),
            (CPT, "99396", "Periodic comprehensive preventive medicine, 40-64 years"),
            (HCPCS, "G0438", "Annual wellness visit, initial"),
            (HCPCS, "G0439", "Annual wellness visit, subsequent"),
            (SNOMED, "185317003", "Telephone encounter"),
        ],
    },
]

# Which concept shows each seeded screening modality was done.
MODALITY_CONCEPTS = {
    ("colorectal", "colonoscopy"): "colonoscopy",
    ("colorectal", "fit"): "fobt",
    ("colorectal", "gfobt"): "fobt",
    ("colorectal", "sdna-fit"): "sdna-fit",
    ("colorectal", "ct-colonography"): "ct-colonography",
    ("colorectal", "flex-sig"): "flexible-sigmoidoscopy",
    ("breast", "mammography"): "mammography",
    ("cervical", "cytology"): "pap-test",
    ("cervical", "hrhpv"): "hpv-test",
    ("lung", "ldct"): "ldct",
}

# program, code, name, all-of concepts, look-back in months (None: ever), minimum age
EXCLUSIONS = [
    ("colorectal", "colorectal-cancer", "Colorectal cancer", ["colorectal-cancer"], None, None),
    ("colorectal", "total-colectomy", "Total colectomy", ["total-colectomy"], None, None),
    (
        "breast",
        "bilateral-mastectomy",
        "Bilateral mastectomy",
        ["bilateral-mastectomy"],
        None,
        None,
    ),
    (
        "breast",
        "right-and-left-mastectomy",
        "Right and left mastectomy",
        ["right-mastectomy", "left-mastectomy"],
        None,
        None,
    ),
    ("cervical", "absence-of-cervix", "No cervix", ["absence-of-cervix"], None, None),
]
# Every program shares these (12 months: the measurement year's look-back); they are
# CMS122's denominator exclusions too (hospice, palliative care, and from 66 frailty
# with advanced illness or living long term in a nursing home), so the diabetes
# control programme has them as well (migration 0031).
COMMON_EXCLUSIONS = [
    ("hospice", "Hospice care", ["hospice"], 12, None),
    ("palliative-care", "Palliative care", ["palliative-care"], 12, None),
    (
        "frailty-advanced-illness",
        "Frailty with advanced illness (66 and older)",
        ["frailty", "advanced-illness"],
        24,
        66,
    ),
    (
        "long-term-care",
        "Lives long term in a nursing home (66 and older)",
        ["long-term-care"],
        12,
        66,
    ),
]
