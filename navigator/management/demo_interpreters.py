"""The demo's language access (seed_demo): interpreter requests in every status and
contacts with each answer to "who interpreted?"."""

from __future__ import annotations

import datetime as dt

from navigator.models import OPEN_STATUSES, NavigationCase, User
from outreach.models import InterpreterRequest, Outcome
from outreach.services import interpreters
from outreach.services.attempts import attempt_log


def seed_interpreters(*, now: dt.datetime) -> None:
    """Language access on María's Spanish-speaking patients who need an interpreter:
    requests in every status (the case page's Interpreter panel, the worklist's
    "arranged" badge), and contacts with each answer to "who interpreted?", two of
    them ad hoc (family, untrained staff), which the Language access page lists.
    Why ad hoc is flagged: Flores et al., Ann Emerg Med 2012;60:545–553."""
    maria = User.objects.get(username="maria")
    demo_cases = list(
        NavigationCase.objects.filter(
            navigator__user=maria,
            status__in=OPEN_STATUSES,
            patient__preferred_language="es",
            patient__interpreter_needed=True,
        ).order_by("pk")[:4]
    )
    if len(demo_cases) < 4:
        return
    first, second, third, fourth = demo_cases
    later = now + dt.timedelta(days=2)
    # Requested (not yet arranged) and confirmed (arranged) for calls ahead.
    interpreters.interpreter_request_create(
        case=first, modality="phone", needed_at=later, actor=maria
    )
    confirmed = interpreters.interpreter_request_create(
        case=second, modality="video", needed_at=later, actor=maria, note="Prep call"
    )
    interpreters.interpreter_request_update(
        interpreter_request=confirmed, status="confirmed", provider="LanguageLine",
        actor=maria,
    )  # fmt: skip
    # Cancelled, and one done: booked ahead, confirmed, then its time came.
    cancelled = interpreters.interpreter_request_create(
        case=third, modality="in_person", needed_at=later, actor=maria
    )
    interpreters.interpreter_request_update(
        interpreter_request=cancelled, status="cancelled", actor=maria
    )
    done = interpreters.interpreter_request_create(
        case=fourth, modality="phone", needed_at=later, actor=maria
    )
    interpreters.interpreter_request_update(
        interpreter_request=done, status="confirmed", provider="Cross Cultural Communication",
        actor=maria,
    )  # fmt: skip
    InterpreterRequest.objects.filter(pk=done.pk).update(needed_at=now - dt.timedelta(days=1))
    interpreters.interpreter_request_update(interpreter_request=done, status="done", actor=maria)
    # Contacts with each answer to "who interpreted?"; two ad hoc.
    answers = [
        (first, "qualified_interpreter", "Phone interpreter from the vendor."),
        (second, "bilingual_navigator", "Spoke in Spanish."),
        (third, "ad_hoc", "Her son interpreted; offered a professional interpreter."),
        (fourth, "ad_hoc", "Front-desk colleague interpreted; no vendor line free."),
        (first, "none", "Patient preferred to speak English today."),
    ]
    for hours, (case, interpreted_by, note) in enumerate(answers, start=1):
        attempt_log(
            case=case, channel="phone", outcome=Outcome.REACHED, actor=maria,
            interpreted_by=interpreted_by, note=note,
            attempted_at=now - dt.timedelta(hours=hours),
        )  # fmt: skip
