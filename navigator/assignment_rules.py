"""Who should work a case, and why, in words a manager can check.

A caseload is a navigator's or a health coach's (`CASEWORK_ROLES`); "navigator"
below means either, except in rule 2. The chooser weighs five things, in this order
of strength:

1. Language. Where the patient needs an interpreter and some active navigator
   speaks their language, only those navigators are considered: a bilingual
   navigator is the best interpreter there is. Otherwise speaking the language
   is a strong preference.
2. Role. A control programme's case (diabetes: coaching sessions and group classes
   towards an HbA1c target) goes to a coach, a screening case to a navigator; the
   other role takes it only where none of the preferred one fits as well on
   language and room ("navigator for a diabetes control case (no coach speaks
   Spanish)"). Language stays first: the coaching that narrowed MGH's disparity in
   diabetes control was in the patient's language, and a coach speaking through an
   interpreter is worse than a bilingual navigator. Role outranks continuity: the
   work differs (self-management coaching, ADCES7 behaviours, DSMT hours), so the
   navigator of the patient's screening loop is not the one to coach them.
3. Continuity. The navigator already working this patient's other open case
   keeps the relationship (one person calls the patient, not two).
4. Clinic affinity. A navigator who works with the patient's clinic knows its
   schedulers and its patients.
5. Spare capacity. A navigator with room is preferred over a full one; among
   equals, the one with the most room (capacity minus open cases) wins. A full
   navigator is chosen only when everyone eligible is full.

Scores are plain integers so that ties break the same way every time (lowest
profile id last), and every factor that counted is written into the reason.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.db.models import Count

from navigator.models import OPEN_STATUSES, NavigationCase, NavigatorProfile, Role
from patients.languages import language_name
from patients.models import Patient, ScreeningProgram

# Weights: each factor outweighs every weaker one put together.
LANGUAGE_WEIGHT = 1000
ROLE_WEIGHT = 500
CONTINUITY_WEIGHT = 100
CLINIC_WEIGHT = 10


def preferred_role(program: ScreeningProgram) -> str:
    """Who a programme's cases go to first: a coach for a control programme's, a
    navigator for a screening programme's. (The one place that names the navigator
    role alone: it is a preference between the two casework roles, not a gate.)"""
    return Role.COACH if program.is_control else Role.NAVIGATOR


def _role_word(role: str) -> str:
    return "coach" if role == Role.COACH else "navigator"


def patient_needs_interpreter(patient: Patient) -> bool:
    """An interpreter is needed where the record says so, or English is limited."""
    if patient.interpreter_needed:
        return True
    return patient.preferred_language != "en" and patient.limited_english_proficiency


@dataclass
class Candidate:
    navigator: NavigatorProfile
    open_cases: int
    # Programs of this patient's other open cases this navigator already works.
    continuity_programs: list[str] = field(default_factory=list)

    @property
    def spare(self) -> int:
        return self.navigator.caseload_capacity - self.open_cases

    @property
    def has_room(self) -> bool:
        return self.spare > 0


@dataclass(frozen=True)
class Choice:
    navigator: NavigatorProfile | None
    needs_interpreter: bool
    reason: str


def candidates_for(
    *,
    patient: Patient,
    navigators: Iterable[NavigatorProfile],
    exclude_case: int | None = None,
    loads: dict[int, int] | None = None,
) -> list[Candidate]:
    """Active navigators with their open caseload and continuity with this patient.

    Two queries whatever the number of navigators: the loads (unless the caller
    keeps them, as a rebalance does while it moves cases), and the patient's
    other open cases.
    """
    navigators = list(navigators)
    if loads is None:
        loads = open_case_counts([n.pk for n in navigators])
    others = NavigationCase.objects.filter(
        patient=patient, status__in=OPEN_STATUSES, navigator__isnull=False
    ).select_related("program")
    if exclude_case is not None:
        others = others.exclude(pk=exclude_case)
    programs_by_navigator: dict[int, list[str]] = {}
    for other in others:
        programs_by_navigator.setdefault(other.navigator_id or 0, []).append(
            other.program.name.lower()
        )
    return candidates_from(
        navigators=navigators, loads=loads, programs_by_navigator=programs_by_navigator
    )


def candidates_from(
    *,
    navigators: Iterable[NavigatorProfile],
    loads: dict[int, int],
    programs_by_navigator: dict[int, list[str]] | None = None,
) -> list[Candidate]:
    """The candidates from what the caller already read: no query (the bulk import reads
    loads once per batch and keeps them as it assigns)."""
    programs_by_navigator = programs_by_navigator or {}
    return [
        Candidate(
            navigator=n,
            open_cases=loads.get(n.pk, 0),
            continuity_programs=programs_by_navigator.get(n.pk, []),
        )
        for n in navigators
    ]


def _works_with_clinic(navigator: NavigatorProfile, clinic_id: int) -> bool:
    # The clinics prefetched with the navigators (`active_navigators`) read directly:
    # `navigator.clinics` builds a related manager at every access, and the bulk import
    # asks this for every navigator for every row.
    prefetched = getattr(navigator, "_prefetched_objects_cache", {}).get("clinics")
    clinics = prefetched if prefetched is not None else navigator.clinics.all()
    return any(clinic.pk == clinic_id for clinic in clinics)


def choose(
    *, patient: Patient, candidates: Sequence[Candidate], program: ScreeningProgram
) -> Choice:
    """The best candidate for this patient's case of `program`, with the reason in words."""
    active = [c for c in candidates if c.navigator.active]
    if not active:
        return Choice(None, False, "No active navigator or coach.")

    language = patient.preferred_language
    speakers = [c for c in active if language in c.navigator.languages]
    needs_interpreter = patient_needs_interpreter(patient)
    # Language is required where an interpreter is needed and a speaker exists.
    pool = speakers if (needs_interpreter and speakers) else active
    # Full navigators only when everyone in the pool is full.
    with_room = [c for c in pool if c.has_room]
    pool = with_room or pool
    wanted = preferred_role(program)

    def score(c: Candidate) -> tuple[int, int, int]:
        points = 0
        if language in c.navigator.languages:
            points += LANGUAGE_WEIGHT
        if c.navigator.user.role == wanted:
            points += ROLE_WEIGHT
        if c.continuity_programs:
            points += CONTINUITY_WEIGHT
        if _works_with_clinic(c.navigator, patient.clinic_id):
            points += CLINIC_WEIGHT
        return points, c.spare, -c.navigator.pk

    best = max(pool, key=score)
    navigator = best.navigator
    parts: list[str] = []
    speaks = language in navigator.languages
    if speaks:
        parts.append(f"speaks {language_name(language)}")
    elif not speakers:
        parts.append(f"no active navigator speaks {language_name(language)}")
    else:
        parts.append(f"no {language_name(language)} speaker has room")
    role_words = _role_reason(
        best=best, active=active, wanted=wanted, program=program, language=language
    )
    if role_words:
        parts.append(role_words)
    if best.continuity_programs:
        parts.append(f"already works this patient's {', '.join(best.continuity_programs)} case")
    if _works_with_clinic(navigator, patient.clinic_id):
        parts.append(f"works with {patient.clinic.name}")
    capacity_words = f"{best.open_cases} of {navigator.caseload_capacity} cases"
    if not best.has_room:
        capacity_words += " (every eligible navigator is full)"
    parts.append(capacity_words)
    interpreter = not speaks
    if interpreter:
        parts.append("interpreter needed")
    return Choice(navigator, interpreter, "; ".join(parts))


def _role_reason(
    *,
    best: Candidate,
    active: Sequence[Candidate],
    wanted: str,
    program: ScreeningProgram,
    language: str,
) -> str:
    """The role rule in words: "coach for a diabetes control case", or the other role
    and why ("navigator for a diabetes control case (no coach speaks Spanish)"). Said
    for every control case, and for a screening case where a coach could have taken it
    (a team of navigators only reads as it always did)."""
    role = best.navigator.user.role
    if not program.is_control and not any(c.navigator.user.role == Role.COACH for c in active):
        return ""
    words = f"{_role_word(role)} for a {program.label.lower()} case"
    if role == wanted:
        return words
    preferred = [c for c in active if c.navigator.user.role == wanted]
    wanted_word = _role_word(wanted)
    if not preferred:
        why = f"no active {wanted_word}"
    elif language in best.navigator.languages and not any(
        language in c.navigator.languages for c in preferred
    ):
        why = f"no {wanted_word} speaks {language_name(language)}"
    else:
        # Role outweighs everything but language, so a preferred candidate who speaks
        # as the chosen one does lost only on room: the pool had left them out as full.
        why = f"no {wanted_word} has room"
    return f"{words} ({why})"


def active_navigators(*, exclude: Iterable[int] = ()) -> list[NavigatorProfile]:
    return list(
        NavigatorProfile.objects.filter(active=True)
        .exclude(pk__in=list(exclude))
        .select_related("user")
        .prefetch_related("clinics")
        .order_by("pk")
    )


def open_case_counts(navigator_ids: Sequence[int]) -> dict[int, int]:
    return dict(
        NavigationCase.objects.filter(navigator__in=navigator_ids, status__in=OPEN_STATUSES)
        .values_list("navigator_id")
        .annotate(n=Count("pk"))
        .values_list("navigator_id", "n")
    )
