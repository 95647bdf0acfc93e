"""Care gaps: each patient's screening status per program, as computed by the engine."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from navigator.audit.recording import AuditedRead
from patients.models.people import Patient
from patients.models.programs import ScreeningModality, ScreeningProgram


class CareGapStatus(models.TextChoices):
    NOT_ELIGIBLE = "not_eligible", "Not eligible"
    EXCLUDED = "excluded", "Excluded"
    UP_TO_DATE = "up_to_date", "Up to date"
    DUE_SOON = "due_soon", "Due soon"
    OVERDUE = "overdue", "Overdue"
    # A control programme's statuses (patients.caregaps.control): what the most recent
    # lab of the year says, never "up to date" or "completed". The first three are
    # gaps (CMS122's numerator: no test this year, a test without a result, above 9 %).
    UNTESTED = "untested", "Not tested this year"
    NO_RESULT = "no_result", "Tested, no usable result"
    POOR_CONTROL = "poor_control", "Poor control (above threshold)"
    ABOVE_TARGET = "above_target", "Above target"
    AT_TARGET = "at_target", "At target"


# The statuses that are a care gap: the nightly run opens a case for a patient who
# enters one of them (navigator.intake.care_gaps).
GAP_STATUSES = frozenset(
    {
        CareGapStatus.OVERDUE,
        CareGapStatus.UNTESTED,
        CareGapStatus.NO_RESULT,
        CareGapStatus.POOR_CONTROL,
    }
)


class CareGap(AuditedRead, models.Model):
    """A patient's screening status for one program, as of a day, with its reasons."""

    # No index of their own: the unique (patient, program) and the (program, status)
    # indexes lead with them, and each extra index is one more entry to write per gap
    # (a batch of 1,000 patients inserts 4,000 gaps).
    patient = models.ForeignKey(
        Patient, on_delete=models.CASCADE, related_name="care_gaps", db_index=False
    )
    program = models.ForeignKey(ScreeningProgram, on_delete=models.CASCADE, db_index=False)
    status = models.CharField(max_length=16, choices=CareGapStatus.choices)
    as_of = models.DateField()
    summary = models.CharField(max_length=300)
    reasons = models.JSONField(default=list, blank=True)
    evidence = models.JSONField(default=list, blank=True)
    last_screening_on = models.DateField(null=True, blank=True)
    # Indexed only where set (Meta.indexes): the index serves SET_NULL when a modality
    # is deleted, which looks for one modality, never for NULL.
    last_modality = models.ForeignKey(
        ScreeningModality,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    next_due_on = models.DateField(null=True, blank=True)
    overdue_since = models.DateField(null=True, blank=True)
    # The first day on which this status could change without new data
    # (a due date, a birthday at an age limit): the nightly run looks again then.
    recheck_on = models.DateField(null=True, blank=True)
    rule_version = models.PositiveIntegerField()
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["program__name"]
        constraints = [
            models.UniqueConstraint(fields=["patient", "program"], name="care_gap_unique")
        ]
        # The two single-column indexes are partial (issue 15): their only readers ask
        # for a value (`recheck_on <= day`, the nightly run's recheck; a deleted
        # modality's gaps), which implies NOT NULL on PostgreSQL and SQLite alike, and
        # most gaps have neither (of the bench's first 25,000: 64% no recheck day,
        # 96% no modality). Full indexes wrote an entry per gap for nothing: 8% of the
        # first computation's database CPU and 15% of its WAL.
        indexes = [
            models.Index(fields=["program", "status"]),
            models.Index(
                fields=["recheck_on"],
                name="care_gap_recheck_on",
                condition=models.Q(recheck_on__isnull=False),
            ),
            models.Index(
                fields=["last_modality"],
                name="care_gap_last_modality",
                condition=models.Q(last_modality__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.program}: {self.get_status_display()}"

    @property
    def further_reasons(self) -> list[str]:
        """The reasons the summary line does not already say."""
        return [reason for reason in self.reasons if reason != self.summary]


class CareGapStamp(models.Model):
    """Which of the patient's data the stored care gaps were computed from: the
    patient's `clinical_data_changed_at` as the recompute read it with the facts
    (`data_changed_at_seen`). The gaps are stale while there is no stamp or the
    patient's value is any other (earlier too: writers set their start time, and
    commit in any order). A recompute that finds the stamp current leaves it
    (care_gaps_recompute).

    What the facts saw, not when they were read: a clock stamp covered data committed
    after the facts were read but timed before the recompute began, and the stamp of a
    recompute whose gaps a slower one with older facts overwrote.

    A narrow table of its own, not a column of the patient (issue 15): every first
    computation stamps every patient it computes, and an UPDATE of the wide patient
    row wrote an entry in each of its ~10 indexes (mostly not HOT: a batch rewrites
    every row of a page), 45-64 ms of a 236 ms batch of 1,000. Here a stamp is an
    insert or an in-place (HOT) update beside the primary key only; the table keeps
    room in each page for that (fillfactor, migration 0028). Bookkeeping, not ePHI:
    like the care gaps it records, it has no change-history trigger.
    """

    patient = models.OneToOneField(
        Patient, primary_key=True, on_delete=models.CASCADE, related_name="care_gap_stamp"
    )
    # Neither indexed: an index would make every stamp update non-HOT, and no reader
    # looks a stamp up by value (the stale selection compares it with the patient's row).
    # When (for display): the staleness test does not read it.
    computed_at = models.DateTimeField()
    # The patient's `clinical_data_changed_at` as read with the facts (None: the patient
    # had none, or, from migration 0030, the stamp was stale already).
    data_changed_at_seen = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"care gaps of patient #{self.patient_id} computed {self.computed_at:%Y-%m-%d %H:%M}"
