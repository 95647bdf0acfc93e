"""Changing a program's outreach protocol (its cadence of steps and its thresholds), on the
admin log. What a protocol proposes after an attempt is `outreach.services.protocol_next_step`."""

from __future__ import annotations

from django.contrib.admin.models import CHANGE, LogEntry
from django.core.exceptions import ValidationError
from django.db import transaction

from navigator.models import User
from navigator.permissions import ensure_manager
from outreach.models import Channel, OutreachProtocol, ProtocolStep
from outreach.services import protocol_next_step
from patients.models import ScreeningProgram


def _describe_steps(steps: list[tuple[int, int, str]]) -> str:
    return ", ".join(
        f"{protocol_next_step.channel_name(channel)} on day {day}" for _, day, channel in steps
    )


def protocol_validate_steps(steps: list[tuple[int, int, str]]) -> None:
    """Refuse a cadence that is not steps 1, 2, 3... on days that never go back."""
    if not steps:
        raise ValidationError({"steps": "A protocol needs at least one step."})
    errors: list[str] = []
    orders = sorted(order for order, _, _ in steps)
    if orders != list(range(1, len(steps) + 1)):
        errors.append(
            "Number the steps 1, 2, 3… with none missing or repeated (got "
            + ", ".join(str(o) for o in orders)
            + ")."
        )
    ordered = sorted(steps)
    for (order, day, _), (next_order, next_day, _) in zip(ordered, ordered[1:], strict=False):
        if next_day < day:
            errors.append(
                f"Step {next_order} is on day {next_day}, before step {order} (day {day}): "
                "days must not go back."
            )
    for order, day, channel in steps:
        if channel not in Channel.values:
            errors.append(f"Step {order}: “{channel}” is not a contact channel.")
        if day < 0:
            errors.append(f"Step {order}: the day cannot be negative.")
    if errors:
        raise ValidationError({"steps": errors})


PROTOCOL_FIELDS = {
    "unreachable_after_attempts": "unreachable after attempts",
    "unreachable_after_days": "over days",
    "reached_follow_up_days": "follow-up days after reaching",
}


def protocol_update(
    *,
    program: ScreeningProgram,
    actor: User,
    unreachable_after_attempts: int,
    unreachable_after_days: int,
    reached_follow_up_days: int,
    steps: list[tuple[int, int, str]],
) -> OutreachProtocol | None:
    """Replace a program's outreach protocol. Returns None when nothing changed.

    Each change is kept in the admin log (who, when, before and after).
    """
    ensure_manager(actor, "change an outreach protocol")
    errors: dict[str, str] = {}
    if unreachable_after_attempts < 1:
        errors["unreachable_after_attempts"] = "Propose closing after at least one attempt."
    if unreachable_after_days < 0:
        errors["unreachable_after_days"] = "The number of days cannot be negative."
    if reached_follow_up_days < 1:
        errors["reached_follow_up_days"] = "Follow up at least one day after reaching them."
    for field, value in (
        ("unreachable_after_attempts", unreachable_after_attempts),
        ("unreachable_after_days", unreachable_after_days),
        ("reached_follow_up_days", reached_follow_up_days),
    ):
        if value > 365:
            errors[field] = "At most 365; check the number."
    if errors:
        raise ValidationError(errors)
    protocol_validate_steps(steps)
    steps = sorted(steps)
    with transaction.atomic():
        protocol, created = OutreachProtocol.objects.select_for_update().get_or_create(
            program=program
        )
        before_steps = [(s.order, s.day, s.channel) for s in protocol.steps.order_by("order")]
        changes: list[str] = []
        for field, new in (
            ("unreachable_after_attempts", unreachable_after_attempts),
            ("unreachable_after_days", unreachable_after_days),
            ("reached_follow_up_days", reached_follow_up_days),
        ):
            old = getattr(protocol, field)
            if old != new or created:
                changes.append(f"{PROTOCOL_FIELDS[field]}: {old} → {new}")
                setattr(protocol, field, new)
        if before_steps != steps:
            changes.append(
                f"steps: {_describe_steps(before_steps) or 'none'} → {_describe_steps(steps)}"
            )
        if not changes:
            return None
        protocol.save()
        if before_steps != steps:
            protocol.steps.all().delete()
            ProtocolStep.objects.bulk_create(
                ProtocolStep(protocol=protocol, order=order, day=day, channel=channel)
                for order, day, channel in steps
            )
        LogEntry.objects.log_actions(
            user_id=actor.pk,
            queryset=[protocol],
            action_flag=CHANGE,
            change_message="; ".join(changes),
            single_object=True,
        )
        return protocol
