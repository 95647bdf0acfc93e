"""The eCQMs EquiNav computes, by id: what `measure_report` and the API accept."""

from __future__ import annotations

from patients.caregaps.measures.cms122 import CMS122
from patients.caregaps.measures.cms124 import CMS124
from patients.caregaps.measures.cms125 import CMS125
from patients.caregaps.measures.cms130 import CMS130
from patients.caregaps.measures.measure import Measure

MEASURES: dict[str, Measure] = {
    "CMS130": CMS130,
    "CMS125": CMS125,
    "CMS124": CMS124,
    "CMS122": CMS122,
}
