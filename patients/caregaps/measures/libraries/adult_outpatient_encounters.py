"""AdultOutpatientEncounters 4.11.000: "Qualifying Encounters".

A performed visit (Office Visit, Annual Wellness Visit, preventive care,
home health, virtual, telephone) during the measurement period. CMS130,
CMS125 and CMS122 use the library; CMS124 has its own "Qualifying Encounters" (no Annual
Wellness Visit), built from the same value sets (see cms124.CERVICAL_VISITS).
"""

from __future__ import annotations

from collections.abc import Iterable

from patients.caregaps.fhirdata import Resource, period_interval, retrieve
from patients.caregaps.measures.context import Context, exists
from patients.caregaps.measures.libraries.status import encounter_performed
from patients.caregaps.temporal import Truth

QUALIFYING_VISITS = {
    "Office Visit": "2.16.840.1.113883.3.464.1003.101.12.1001",
    "Annual Wellness Visit": "2.16.840.1.113883.3.526.3.1240",
    "Preventive Care Services Established Office Visit, 18 and Up": (
        "2.16.840.1.113883.3.464.1003.101.12.1025"
    ),
    "Preventive Care Services Initial Office Visit, 18 and Up": (
        "2.16.840.1.113883.3.464.1003.101.12.1023"
    ),
    "Home Healthcare Services": "2.16.840.1.113883.3.464.1003.101.12.1016",
    "Virtual Encounter": "2.16.840.1.113883.3.464.1003.101.12.1089",
    "Telephone Visits": "2.16.840.1.113883.3.464.1003.101.12.1080",
}


def has_qualifying_encounter(ctx: Context, visit_sets: Iterable[str]) -> bool:
    """ "Qualifying Encounters": a performed visit during the measurement period."""
    codes = frozenset().union(*(ctx.vs(QUALIFYING_VISITS[name]) for name in visit_sets))
    encounters = encounter_performed(retrieve(ctx.patient.of_type("Encounter"), codes))

    def during(encounter: Resource) -> Truth:
        interval = period_interval(encounter.get("period"))
        return interval.during(ctx.period) if interval else None

    return exists(ctx, "Qualifying encounter", encounters, during)
