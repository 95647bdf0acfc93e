"""The demo's language access (seed_demo): interpreter requests in every status and
contacts with each answer to "who interpreted?"."""

from __future__ import annotations

import datetime as dt

from navigator.models import OPEN_STATUSES, NavigationCase, User
from outreach.models import InterpreterRequest, Outcome
from outreach.services import interpreters
from outreach.services.attempts import attempt_log


def seed_interpreters(*, now: dt.datetime) -> None:
    """Language access: on María's Spanish-speaking patients who need an interpreter,
    requests in every status (the case page's Interpreter panel, the worklist's
    "arranged" badge); on other patients who need one, contacts with each answer to
    "who interpreted?", two of them ad hoc (family, untrained staff), which the
    Language access page lists ("not recorded" ones come from the demo's older
    attempts, logged with only "interpreter used").
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
    # Contacts with each answer to "who interpreted?", two ad hoc, on other cases than
    # the worklist's demo ones (an attempt would change why those are on the list).
    contacted = list(
        NavigationCase.objects.filter(
            status__in=OPEN_STATUSES,
            navigator__isnull=False,
            patient__interpreter_needed=True,
        )
        .exclude(assignment_reason="demo")
        .select_related("patient", "navigator__user")
        .order_by("pk")[:5]
    )
    if not contacted:
        return
    answers = [
        ("qualified_interpreter", "Phone interpreter from the vendor."),
        ("ad_hoc", "Her son interpreted; offered a professional interpreter next time."),
        ("ad_hoc", "A front-desk colleague interpreted; no vendor line was free."),
        ("none", "The patient chose to speak English today."),
    ]
    for hours, (interpreted_by, note) in enumerate(answers, start=1):
        case = contacted[hours % len(contacted)]
        attempt_log(
            case=case, channel="phone", outcome=Outcome.REACHED, actor=case.navigator.user,
            interpreted_by=interpreted_by, note=note, attempted_at=now - dt.timedelta(hours=hours),
        )  # fmt: skip
    speaks = next(
        (c for c in contacted if c.patient.preferred_language in c.navigator.languages), None
    )
    if speaks is not None:
        attempt_log(
            case=speaks, channel="phone", outcome=Outcome.REACHED, actor=speaks.navigator.user,
            interpreted_by="bilingual_navigator", note="Spoke in the patient's language.",
            attempted_at=now - dt.timedelta(hours=6),
        )  # fmt: skip
