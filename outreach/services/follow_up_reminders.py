"""Navigators' follow-up reminders: made when a case's follow-up date comes, emailed to
the navigator (or the colleague covering), dismissed once the navigator acts."""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from config.enqueue import enqueue_on_commit
from navigator.cases import event_record
from navigator.models import OPEN_STATUSES, CaseEventKind, Coverage, NavigationCase, User
from outreach.models import FollowUpReminder
from outreach.wording import program_work

logger = logging.getLogger(__name__)


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
    # A navigator away has handed their caseload on: the colleague covering gets it.
    covered_by = dict(
        Coverage.objects.filter(
            starts_on__lte=today, ends_on__gte=today, cancelled_at=None
        ).values_list("absent_id", "covering_id")
    )
    created_ids: list[int] = []
    for case_id, navigator_id in due_cases.iterator(chunk_size=500):
        with transaction.atomic():
            reminder, created = FollowUpReminder.objects.get_or_create(
                case_id=case_id,
                due_on=today,
                defaults={"navigator_id": covered_by.get(navigator_id, navigator_id)},
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
            enqueue_on_commit("outreach.tasks.send_follow_up_reminder_email", reminder.pk)
    logger.info("follow-up reminders created: %d", len(created_ids))
    return created_ids


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
                f"{program_work(reminder.case.program)} case #{reminder.case_id}.\n\n"
                f"Open it: {case_url}\n"
            ),
            from_email=None,
            recipient_list=[user.email],
        )
        return True


def follow_up_reminder_dismiss(*, reminder: FollowUpReminder, actor: User) -> FollowUpReminder:
    if reminder.dismissed_at is None:
        FollowUpReminder.objects.filter(pk=reminder.pk, dismissed_at=None).update(
            dismissed_at=timezone.now()
        )
        reminder.refresh_from_db()
    return reminder
