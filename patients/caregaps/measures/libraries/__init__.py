"""Ports of the CQL libraries the eCQMs include, one module per library.

- `status.py`: Status 1.8.000: which resources count as performed, resulted, ordered.
- `hospice.py`: Hospice 6.12.000: "Has Hospice Services".
- `palliative_care.py`: PalliativeCare 1.11.000: "Has Palliative Care in the
  Measurement Period".
- `advanced_illness_frailty.py`: AdvancedIllnessandFrailty 1.16.000: "Is Age 66
  or Older with Advanced Illness and Frailty", "Is Age 66 or Older Living Long
  Term in a Nursing Home".
- `adult_outpatient_encounters.py`: AdultOutpatientEncounters 4.11.000:
  "Qualifying Encounters".

The CQL text is in ../shared/ecqm/<measure>/cql/<Library>-<version>.cql, beside the
repository.
"""
