"""Barriers to screening on a case: identified, action taken, resolved."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from navigator.cases import case_ensure_open, case_lock, event_record
from navigator.models import (
    BarrierStatus,
    BarrierType,
    CaseBarrier,
    CaseEventKind,
    NavigationCase,
    User,
)


def barrier_add(
    *,
    case: NavigationCase | int,
    barrier_type: BarrierType,
    actor: User,
    note: str = "",
    action: str = "",
    expected_version: int | None = None,
) -> CaseBarrier:
    with transaction.atomic():
        case = case_lock(case, expected_version=expected_version)
        case_ensure_open(case)
        if not barrier_type.active:
            raise ValidationError({"barrier_type": "This barrier type is retired."})
        if (
            case.barriers.filter(barrier_type=barrier_type)
            .exclude(status=BarrierStatus.RESOLVED)
            .exists()
        ):
            raise ValidationError(
                {"barrier_type": f"“{barrier_type}” is already an open barrier on this case."}
            )
        today = timezone.localdate()
        barrier = CaseBarrier.objects.create(
            case=case,
            barrier_type=barrier_type,
            note=note,
            action=action,
            status=BarrierStatus.ACTION_TAKEN if action else BarrierStatus.IDENTIFIED,
            action_on=today if action else None,
            identified_on=today,
            created_by=actor,
        )
        event_record(
            case=case,
            kind=CaseEventKind.BARRIER_ADDED,
            actor=actor,
            summary=f"Barrier: {barrier_type}" + (f" — action: {action}" if action else ""),
            data={"barrier": barrier.pk, "type": barrier_type.code, "status": barrier.status},
        )
        return barrier


_BARRIER_ORDER: list[str] = [
    BarrierStatus.IDENTIFIED,
    BarrierStatus.ACTION_TAKEN,
    BarrierStatus.RESOLVED,
]


def barrier_update(
    *,
    barrier: CaseBarrier | int,
    status: str,
    actor: User,
    action: str = "",
    expected_version: int | None = None,
) -> CaseBarrier:
    """Move a barrier forward: identified → action taken → resolved."""
    with transaction.atomic():
        barrier_id = barrier if isinstance(barrier, int) else barrier.pk
        case_id = CaseBarrier.objects.values_list("case_id", flat=True).get(pk=barrier_id)
        case = case_lock(case_id, expected_version=expected_version)
        barrier = CaseBarrier.objects.select_related("barrier_type").get(pk=barrier_id)
        case_ensure_open(case)
        if status not in BarrierStatus.values:
            raise ValidationError({"status": f"“{status}” is not a barrier status."})
        old_status = barrier.status
        if status == old_status and not action:
            return barrier
        if _BARRIER_ORDER.index(status) < _BARRIER_ORDER.index(old_status):
            raise ValidationError(
                {"status": f"A {barrier.get_status_display().lower()} barrier cannot go back."}
            )
        if status == BarrierStatus.ACTION_TAKEN and not (action or barrier.action):
            raise ValidationError({"action": "Say what action was taken."})
        today = timezone.localdate()
        old_action = barrier.action
        if action:
            barrier.action = action
            barrier.action_on = today
        barrier.status = status
        if status == BarrierStatus.RESOLVED:
            barrier.resolved_on = today
        barrier.save()
        event_record(
            case=case,
            kind=CaseEventKind.BARRIER_UPDATED,
            actor=actor,
            summary=f"Barrier {barrier.barrier_type}: {barrier.get_status_display().lower()}"
            + (f" — {action}" if action else ""),
            data={
                "barrier": barrier.pk,
                "from": old_status,
                "to": status,
                "old_action": old_action,
                "action": barrier.action,
            },
        )
        return barrier
