"""A colleague covering a navigator's caseload for a date range."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from navigator.cases import TOO_FAR_AHEAD, too_far_ahead
from navigator.models import Coverage, NavigatorProfile, User


def coverage_create(
    *,
    absent: NavigatorProfile,
    covering: NavigatorProfile,
    starts_on: dt.date,
    ends_on: dt.date,
    actor: User,
    note: str = "",
) -> Coverage:
    """Hand a navigator's caseload to a colleague for a date range.

    A navigator hands on their own caseload; a manager anyone's. During the range
    the colleague sees and works those cases; what they log is theirs.
    """
    with transaction.atomic():
        # Both profiles, locked in pk order, so two overlapping requests queue.
        locked = {
            n.pk: n
            for n in NavigatorProfile.objects.select_for_update()
            .filter(pk__in=[absent.pk, covering.pk])
            .select_related("user")
            .order_by("pk")
        }
        absent, covering = locked[absent.pk], locked[covering.pk]
        errors: dict[str, str] = {}
        if not (actor.sees_all_cases or absent.user_id == actor.pk):
            raise ValidationError(
                {"absent": "You can hand on only your own caseload; ask a manager."}
            )
        if absent.pk == covering.pk:
            errors["covering"] = "Choose a colleague, not the navigator who is away."
        elif not covering.active:
            errors["covering"] = f"{covering} is not an active navigator."
        if ends_on < starts_on:
            errors["ends_on"] = "The last day cannot be before the first."
        if starts_on < timezone.localdate():
            errors["starts_on"] = "Cover cannot start in the past."
        elif too_far_ahead(ends_on):
            errors["ends_on"] = TOO_FAR_AHEAD
        if not errors:
            overlapping = (
                Coverage.objects.filter(
                    absent=absent,
                    cancelled_at=None,
                    starts_on__lte=ends_on,
                    ends_on__gte=starts_on,
                )
                .select_related("covering__user")
                .first()
            )
            if overlapping is not None:
                errors["starts_on"] = (
                    f"{overlapping.covering} already covers {absent} from "
                    f"{overlapping.starts_on:%Y-%m-%d} to {overlapping.ends_on:%Y-%m-%d}."
                )
        if errors:
            raise ValidationError(errors)
        return Coverage.objects.create(
            absent=absent,
            covering=covering,
            starts_on=starts_on,
            ends_on=ends_on,
            note=note,
            created_by=actor,
        )


def coverage_cancel(*, coverage: Coverage, actor: User) -> Coverage:
    with transaction.atomic():
        coverage = Coverage.objects.select_for_update().select_related("absent").get(pk=coverage.pk)
        if not (actor.sees_all_cases or coverage.absent.user_id == actor.pk):
            raise ValidationError({"coverage": "Only the navigator away or a manager can end it."})
        if coverage.cancelled_at is not None:
            return coverage
        today = timezone.localdate()
        if coverage.ends_on < today:
            raise ValidationError({"coverage": "This cover has already ended."})
        coverage.cancelled_at = timezone.now()
        coverage.save(update_fields=["cancelled_at"])
        return coverage
