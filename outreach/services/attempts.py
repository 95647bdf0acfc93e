"""Contact attempts: logging one, and what the program's outreach protocol makes of it
(the next follow-up date and channel, a bad number, a proposal to close as unreachable)."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from navigator.cases import (
    ALLOWED_TRANSITIONS,
    MAX_DAYS_LATE,
    TOO_FAR_AHEAD,
    case_ensure_open,
    case_lock,
    case_save_and_record,
    case_transition,
    event_record,
    too_far_ahead,
)
from navigator.models import (
    CaseEvent,
    CaseEventKind,
    CaseStatus,
    NavigationCase,
    NavigatorProfile,
    User,
)
from navigator.services.follow_ups import follow_up_unreachable_withdraw
from outreach.models import (
    Channel,
    ContactAttempt,
    Direction,
    FollowUpReminder,
    InterpretedBy,
    Outcome,
    Purpose,
)
from outreach.selectors import protocol_for
from outreach.services import protocol_next_step
from outreach.services.unreachable import unreachable_proposal_record, unreachable_proposal_withdraw
from patients.languages import language_name
from patients.models import PatientPhone


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
    interpreted_by: str = "",
    interpreter_used: bool = False,
    note: str = "",
    attempted_at: dt.datetime | None = None,
    next_follow_up: dt.date | None = None,
    purpose: str = Purpose.OUTREACH,
    phone: PatientPhone | None = None,
    expected_version: int | None = None,
) -> ContactAttempt:
    """Log one contact attempt, and set the case's next follow-up and channel.

    The first attempt on an assigned case moves it to contacting. A wrong or
    disconnected number is marked bad. The program's outreach protocol
    (`outreach.services.protocol_next_step`) proposes the next follow-up date and channel, and
    proposes the case for closing as unreachable after its N unsuccessful attempts
    over M days; an explicit `next_follow_up` wins over the protocol's date. A
    program without a protocol keeps the settings' default.

    `interpreted_by` says who interpreted (`InterpretedBy`); a qualified bilingual
    navigator only if the actor's profile lists the patient's language. An ad hoc
    interpreter is flagged on the timeline. Without it, the older `interpreter_used`
    says only whether somebody did ("not recorded" who) or nobody.
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
    if not interpreted_by:
        interpreted_by = InterpretedBy.NOT_RECORDED if interpreter_used else InterpretedBy.NONE
    if interpreted_by not in InterpretedBy.values:
        errors["interpreted_by"] = f"“{interpreted_by}” is not a choice of who interpreted."
    if errors:
        raise ValidationError(errors)

    with transaction.atomic():
        case = case_lock(case, expected_version=expected_version)
        case_ensure_open(case)
        if phone is not None and phone.patient_id != case.patient_id:
            raise ValidationError({"phone": "This number is not one of the patient's."})
        if interpreted_by == InterpretedBy.BILINGUAL_NAVIGATOR:
            _ensure_speaks(actor, case.patient.preferred_language)
        attempt = ContactAttempt.objects.create(
            case=case,
            attempted_at=attempted_at,
            channel=channel,
            direction=direction,
            outcome=outcome,
            purpose=purpose,
            phone=phone,
            interpreted_by=interpreted_by,
            note=note,
            created_by=actor,
        )
        # Locked after the case: the fixed order is case, then its patient's phones.
        phones = list(
            PatientPhone.objects.select_for_update()
            .filter(patient_id=case.patient_id)
            .order_by("rank", "pk")
        )
        marked_bad = _bad_number(attempt, phones)
        if marked_bad is not None:
            marked_bad.is_bad = True
            marked_bad.save(update_fields=["is_bad"])

        plan = _protocol_plan(case, phones, today)
        previous_follow_up, previous_channel = case.next_follow_up, case.next_channel
        update_fields = ["next_follow_up"]
        follow_up: dt.date | None
        if plan is None:
            follow_up = next_follow_up or default_follow_up(outcome=outcome, today=today)
            what_next = f"next follow-up {follow_up:%Y-%m-%d}"
        else:
            follow_up = next_follow_up or plan.on
            case.next_channel = plan.channel
            update_fields.append("next_channel")
            what_next = plan.explanation
            if next_follow_up is not None and next_follow_up != plan.on:
                what_next = (
                    f"next follow-up {next_follow_up:%Y-%m-%d} (set by hand); protocol: {what_next}"
                )
        interpreter_now = plan is not None and plan.needs_interpreter and not case.needs_interpreter
        if interpreter_now:
            case.needs_interpreter = True
            update_fields.append("needs_interpreter")
            what_next += "; interpreter needed from now on"
        case.next_follow_up = follow_up
        case_save_and_record(
            case=case,
            fields=update_fields,
            kind=CaseEventKind.ATTEMPT_LOGGED,
            actor=actor,
            at=attempted_at,
            summary=f"{attempt.get_direction_display()} {attempt.get_channel_display().lower()}: "
            f"{attempt.get_outcome_display().lower()}"
            + INTERPRETED_WORDS.get(interpreted_by, "")
            + f"; {what_next}",
            data={
                "attempt": attempt.pk,
                "channel": channel,
                "outcome": outcome,
                "interpreted_by": interpreted_by,
                "follow_up_from": previous_follow_up.isoformat() if previous_follow_up else None,
                "follow_up_to": follow_up.isoformat() if follow_up else None,
                "channel_from": previous_channel,
                "channel_to": case.next_channel,
                "protocol_step": plan.step if plan else None,
                "needs_interpreter_to": True if interpreter_now else None,
            },
        )
        if marked_bad is not None:
            event_record(
                case=case,
                kind=CaseEventKind.PHONE_MARKED_BAD,
                actor=actor,
                at=attempted_at,
                summary=f"{marked_bad.get_kind_display()} number ending "
                f"{str(marked_bad.number)[-4:]} marked bad: "
                f"{attempt.get_outcome_display().lower()}",
                data={
                    "phone": marked_bad.pk,
                    "is_bad_from": False,
                    "is_bad_to": True,
                    "attempt": attempt.pk,
                },
            )
        if outcome == Outcome.REACHED:
            follow_up_unreachable_withdraw(case=case, actor=actor)
        if outcome == Outcome.REACHED and case.unreachable_proposed_at is not None:
            unreachable_proposal_withdraw(case, actor, reason="reached the patient")
        elif plan is not None and plan.propose_unreachable:
            unreachable_proposal_record(
                case,
                actor,
                reason=f"the outreach protocol: {plan.unsuccessful} unsuccessful attempts over "
                f"{plan.span_days} days",
                data={"attempts": plan.unsuccessful, "days": plan.span_days},
            )
        if case.status == CaseStatus.ASSIGNED:
            case_transition(case=case, to_status=CaseStatus.CONTACTING, actor=actor)
        # A reminder for today is done with once the navigator has acted on the case.
        FollowUpReminder.objects.filter(case=case, dismissed_at=None).update(dismissed_at=now)
        return attempt


# What the timeline says of who interpreted; an ad hoc interpreter is flagged.
INTERPRETED_WORDS: dict[str, str] = {
    InterpretedBy.QUALIFIED_INTERPRETER: " (qualified interpreter)",
    InterpretedBy.BILINGUAL_NAVIGATOR: " (in the patient's language by a qualified bilingual "
    "navigator)",
    InterpretedBy.AD_HOC: " (ad hoc interpreter: family member or untrained staff — flagged)",
    InterpretedBy.NOT_RECORDED: " (interpreter)",
}


def _ensure_speaks(actor: User, language: str) -> None:
    """A navigator interprets for themself only in a language their profile lists."""
    languages = (
        NavigatorProfile.objects.filter(user=actor).values_list("languages", flat=True).first()
    )
    if not languages or language not in languages:
        raise ValidationError(
            {
                "interpreted_by": f"Your navigator profile does not list {language_name(language)}"
                ": choose a qualified interpreter, or ask a manager to add the language to your "
                "profile if you are qualified in it."
            }
        )


def _bad_number(attempt: ContactAttempt, phones: list[PatientPhone]) -> PatientPhone | None:
    """The number a wrong-number or disconnected call found bad, if it is not marked yet.

    Without the number on the attempt, only a patient's one good number is
    unambiguous; with several, none is guessed at.
    """
    if attempt.outcome not in {Outcome.WRONG_NUMBER, Outcome.DISCONNECTED}:
        return None
    if attempt.channel not in protocol_next_step.NUMBER_CHANNELS:
        return None
    if attempt.phone_id is not None:
        phone = next((p for p in phones if p.pk == attempt.phone_id), None)
    else:
        good = [p for p in phones if not p.is_bad]
        phone = good[0] if len(good) == 1 else None
    if phone is None or phone.is_bad:
        return None
    return phone


def _protocol_plan(
    case: NavigationCase, phones: list[PatientPhone], today: dt.date
) -> protocol_next_step.NextStep | None:
    """The protocol's next step for the case as it now is; None without a protocol."""
    protocol = protocol_for(case.program_id)
    if protocol is None:
        return None
    attempts = [
        protocol_next_step.Attempt(
            at=a.attempted_at,
            outcome=a.outcome,
            channel=a.channel,
            direction=a.direction,
            phone=a.phone_id,
        )
        for a in ContactAttempt.objects.filter(case=case).order_by("attempted_at", "pk")
    ]
    # A manager's "keep trying" restarts the count towards proposing unreachable again.
    kept_open_at = (
        CaseEvent.objects.filter(case=case, kind=CaseEventKind.UNREACHABLE_DISMISSED)
        .order_by("-at")
        .values_list("at", flat=True)
        .first()
    )
    patient = case.patient
    return protocol_next_step.next_step(
        cadence=protocol_next_step.Cadence.of(protocol),
        attempts=attempts,
        phones=[
            protocol_next_step.Phone(pk=p.pk, kind=p.get_kind_display().lower(), is_bad=p.is_bad)
            for p in phones
        ],
        today=today,
        sms_consent=patient.sms_consent,
        counting_since=kept_open_at,
        may_propose_unreachable=CaseStatus.CLOSED_UNREACHABLE in ALLOWED_TRANSITIONS[case.status],
    )
