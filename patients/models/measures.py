"""Population measures, stored per patient and per measurement period.

The disparities dashboard counts screening rates by group in one grouped query, so the
populations are computed ahead (`patients.services.measure_populations`) and read
here, never evaluated on a page:

- `MeasurePopulation`: one row per patient in a measure's initial population for one
  period. Patients outside it get no row (for these proportion measures the
  denominator is the initial population), which keeps the table to about a third of
  patients × periods.
- `MeasurePeriod`: a (measure, period) that has been computed for everyone. A period is
  listed, and so shown, only once it is complete: the dashboard never shows a
  half-refreshed period.
"""

from __future__ import annotations

from django.db import models

from patients.models.people import Patient
from patients.models.programs import ScreeningProgram


class MeasurePopulation(models.Model):
    """A patient in a measure's initial population (= denominator) for one period."""

    # "CMS130" (an eCQM) or "caregap:colorectal" (EquiNav's rules for a program).
    measure = models.CharField(max_length=32)
    # The programme EquiNav runs for the measure, when it runs one: an eCQM is
    # computed from EHR data whether or not it does (CMS122 before a diabetes
    # programme exists); the care-gap measures always have theirs.
    program = models.ForeignKey(
        ScreeningProgram, on_delete=models.CASCADE, related_name="+", null=True, blank=True
    )
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="+")
    period_start = models.DateField()
    period_end = models.DateField()
    denominator_exclusion = models.BooleanField()
    numerator = models.BooleanField()
    # Age on the period's last day, for age bands and age adjustment without SQL age maths.
    age_at_end = models.PositiveSmallIntegerField()
    computed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["measure", "period_end", "period_start", "patient"],
                name="measure_population_unique",
            )
        ]
        indexes = [models.Index(fields=["measure", "period_end", "period_start"])]

    def __str__(self) -> str:
        return f"{self.measure} {self.period_start}–{self.period_end}: patient {self.patient_id}"


class MeasurePeriod(models.Model):
    """A measure's period computed for every patient: listed only once complete."""

    measure = models.CharField(max_length=32)
    period_start = models.DateField()
    period_end = models.DateField()
    computed_at = models.DateTimeField()
    # Patients in the initial population.
    patients = models.PositiveIntegerField()
    # Value sets not loaded, for which built-in starter codes stood in (eCQMs only):
    # the report's warning, kept with the figures it qualifies.
    starter_value_sets = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["measure", "period_end", "period_start"]
        constraints = [
            models.UniqueConstraint(
                fields=["measure", "period_start", "period_end"], name="measure_period_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.measure} {self.period_start}–{self.period_end}"
