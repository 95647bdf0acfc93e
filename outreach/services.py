"""Writes for outreach: contact attempts and navigators' follow-up reminders."""

from __future__ import annotations

import datetime as dt
import logging
from functools import partial

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from navigator.models import OPEN_STATUSES, CaseEventKind, CaseStatus, NavigationCase, User
from navigator.services import (
    MAX_DAYS_LATE,
    TOO_FAR_AHEAD,
    case_ensure_open,
    case_lock,
    case_transition,
    event_record,
    too_far_ahead,
)
from outreach.models import (
    Channel,
    ContactAttempt,
    Direction,
    FollowUpReminder,
    Outcome,
    Purpose,
)
from patients.models import PatientPhone

logger = logging.getLogger(__name__)


def default_follow_up(*, outcome: str, today: dt.date) -> dt.date:
    days = (
        settings.EQUINAV_FOLLOW_UP_DAYS_REACHED
        if outcome == Outcome.REACHED
        else settings.EQUINAV_FOLLOW_UP_DAYS_NOT_REACHED
    )
    return today + dt.timedelta(days=days)


def attempt_log(
    *,
    case: NavigationCase | int,
    channel: str,
    outcome: str,
    actor: User,
    direction: str = Direction.OUTBOUND,
    interpreter_used: bool = False,
    note: str = "",
    attempted_at: dt.datetime | None = None,
    next_follow_up: dt.date | None = None,
    purpose: str = Purpose.OUTREACH,
    phone: PatientPhone | None = None,
    expected_version: int | None = None,
) -> ContactAttempt:
    """Log one contact attempt, and set the case's next follow-up.

    The first attempt on an assigned case moves it to contacting. Without an
    explicit next follow-up, a default follows from the outcome.
    """
    now = timezone.now()
    attempted_at = attempted_at or now
    today = timezone.localdate()
    errors: dict[str, str] = {}
    if channel not in Channel.values:
        errors["channel"] = f"“{channel}” is not a contact channel."
    if outcome not in Outcome.values:
        errors["outcome"] = f"“{outcome}” is not an attempt outcome."
    if direction not in Direction.values:
        errors["direction"] = f"“{direction}” is not a direction."
    if purpose not in Purpose.values:
        errors["purpose"] = f"“{purpose}” is not an attempt purpose."
    if attempted_at > now + dt.timedelta(minutes=5):
        errors["attempted_at"] = "An attempt cannot be logged before it happens."
    if next_follow_up is not None and next_follow_up < today:
        errors["next_follow_up"] = "The next follow-up cannot be in the past."
    elif next_follow_up is not None and too_far_ahead(next_follow_up):
        errors["next_follow_up"] = TOO_FAR_AHEAD
    if attempted_at < now - dt.timedelta(days=MAX_DAYS_LATE):
        errors["attempted_at"] = (
            f"This attempt is dated more than {MAX_DAYS_LATE} days ago; check the date."
        )
    if errors:
        raise ValidationError(errors)

    with transaction.atomic():
        case = case_lock(case, expected_version=expected_version)
        case_ensure_open(case)
        if phone is not None and phone.patient_id != case.patient_id:
            raise ValidationError({"phone": "This number is not one of the patient's."})
        attempt = ContactAttempt.objects.create(
            case=case,
            attempted_at=attempted_at,
            channel=channel,
            direction=direction,
            outcome=outcome,
            purpose=purpose,
            phone=phone,
            interpreter_used=interpreter_used,
            note=note,
            created_by=actor,
        )
        follow_up = next_follow_up or default_follow_up(outcome=outcome, today=today)
        previous_follow_up = case.next_follow_up
        case.next_follow_up = follow_up
        case.save(update_fields=["next_follow_up", "updated_at"])
        event_record(
            case=case,
            kind=CaseEventKind.ATTEMPT_LOGGED,
            actor=actor,
            at=attempted_at,
            summary=f"{attempt.get_direction_display()} {attempt.get_channel_display().lower()}: "
            f"{attempt.get_outcome_display().lower()}"
            + (" (interpreter)" if interpreter_used else "")
            + f"; next follow-up {follow_up:%Y-%m-%d}",
            data={
                "attempt": attempt.pk,
                "channel": channel,
                "outcome": outcome,
                "follow_up_from": previous_follow_up.isoformat() if previous_follow_up else None,
                "follow_up_to": follow_up.isoformat(),
            },
        )
        if case.status == CaseStatus.ASSIGNED:
            case_transition(case=case, to_status=CaseStatus.CONTACTING, actor=actor)
        # A reminder for today is done with once the navigator has acted on the case.
        FollowUpReminder.objects.filter(case=case, dismissed_at=None).update(dismissed_at=now)
        return attempt


# --- Follow-up reminders -----------------------------------------------------------------


def follow_up_reminders_create(*, today: dt.date) -> list[int]:
    """Create one reminder per open, assigned case whose follow-up date has come.

    Safe to run any number of times a day: the (case, due_on) unique constraint
    makes a second run create nothing. Returns the ids of the reminders created.
    """
    due_cases = (
        NavigationCase.objects.filter(
            status__in=OPEN_STATUSES,
            navigator__isnull=False,
            next_follow_up__lte=today,
        )
        .exclude(follow_up_reminders__due_on=today)
        .values_list("pk", "navigator_id")
    )
    created_ids: list[int] = []
    for case_id, navigator_id in due_cases.iterator(chunk_size=500):
        with transaction.atomic():
            reminder, created = FollowUpReminder.objects.get_or_create(
                case_id=case_id, due_on=today, defaults={"navigator_id": navigator_id}
            )
            if not created:
                continue
            event_record(
                case=NavigationCase(pk=case_id),
                kind=CaseEventKind.REMINDER_CREATED,
                actor=None,
                summary=f"Follow-up due {today:%Y-%m-%d}: reminder sent to the navigator",
                data={"reminder": reminder.pk},
            )
            created_ids.append(reminder.pk)
            transaction.on_commit(partial(_enqueue_reminder_email, reminder.pk))
    logger.info("follow-up reminders created: %d", len(created_ids))
    return created_ids


def _enqueue_reminder_email(reminder_id: int) -> None:
    from outreach.tasks import send_follow_up_reminder_email

    send_follow_up_reminder_email.delay(reminder_id)


def follow_up_reminder_send_email(*, reminder_id: int) -> bool:
    """Email a navigator their reminder, once. Returns False if it was already sent.

    The reminder is claimed with a conditional update, so a task that runs
    twice (a redelivered message, the sweep and the first task racing) sends
    one email. If sending fails, the claim is rolled back with the transaction
    and the task's retry or the next sweep tries again.
    """
    with transaction.atomic():
        claimed = FollowUpReminder.objects.filter(
            pk=reminder_id,
            emailed_at=None,
            dismissed_at=None,
            case__status__in=OPEN_STATUSES,
        ).update(emailed_at=timezone.now())
        if claimed == 0:
            return False
        reminder = FollowUpReminder.objects.select_related("navigator__user", "case__program").get(
            pk=reminder_id
        )
        user = reminder.navigator.user
        if not user.email:
            logger.warning("navigator %s has no email; reminder %s shown on worklist only",
                           user.pk, reminder.pk)  # fmt: skip
            return True
        case_url = f"{settings.EQUINAV_SITE_URL}/cases/{reminder.case_id}/"
        # Minimum necessary: the email names the case and program, never the patient.
        send_mail(
            subject=f"EquiNav: follow-up due on case #{reminder.case_id}",
            message=(
                f"A follow-up has come due ({reminder.due_on:%Y-%m-%d}) on "
                f"{reminder.case.program.name.lower()} screening case #{reminder.case_id}.\n\n"
                f"Open it: {case_url}\n"
            ),
            from_email=None,
            recipient_list=[user.email],
        )
        return True


# A reminder email not sent within a day is stale: the worklist already shows it,
# and tomorrow brings a fresh reminder if the case is still due. Bounding the sweep
# also stops it retrying an address the mail server rejects for ever.
REMINDER_EMAIL_STALE_AFTER = dt.timedelta(days=1)


def unsent_reminder_ids(*, older_than: dt.timedelta) -> list[int]:
    """Reminders still waiting for their email, old enough that their task was lost."""
    now = timezone.now()
    return list(
        FollowUpReminder.objects.filter(
            emailed_at=None,
            dismissed_at=None,
            created_at__lt=now - older_than,
            created_at__gte=now - REMINDER_EMAIL_STALE_AFTER,
        ).values_list("pk", flat=True)[:1000]
    )


def follow_up_reminder_dismiss(*, reminder: FollowUpReminder, actor: User) -> FollowUpReminder:
    if reminder.dismissed_at is None:
        FollowUpReminder.objects.filter(pk=reminder.pk, dismissed_at=None).update(
            dismissed_at=timezone.now()
        )
        reminder.refresh_from_db()
    return reminder
