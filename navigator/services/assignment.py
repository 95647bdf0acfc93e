"""Who works a case: choosing a navigator or coach (`CASEWORK_ROLES`: both hold a
caseload, `NavigatorProfile`), giving a case to one, and moving many cases between
them at once (rebalancing). The rules of the choice are navigator.assignment_rules."""

from __future__ import annotations

from collections.abc import Sequence

from django.core.exceptions import ValidationError
from django.db import transaction

from navigator import assignment_rules
from navigator.assignment_rules import Choice
from navigator.cases import (
    StaleCaseError,
    actor_name,
    case_changes_since,
    case_ensure_open,
    case_lock,
    case_save_and_record,
    case_transition,
)
from navigator.models import (
    OPEN_STATUSES,
    CaseEventKind,
    CaseStatus,
    NavigationCase,
    NavigatorProfile,
    Rebalance,
    User,
)
from navigator.selectors.team import rebalance_order
from patients.models import Patient, ScreeningProgram


def _lock_active_navigators(*, exclude: tuple[int, ...] = ()) -> list[NavigatorProfile]:
    """Active navigators, locked in pk order so that concurrent assignments queue
    up behind each other and capacity is counted once."""
    locked_ids = list(
        NavigatorProfile.objects.select_for_update()
        .filter(active=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    return assignment_rules.active_navigators(exclude=exclude) if locked_ids else []


def navigator_choose_for(
    *,
    patient: Patient,
    program: ScreeningProgram,
    case_id: int | None = None,
    exclude: tuple[int, ...] = (),
) -> tuple[NavigatorProfile | None, bool, str]:
    """Pick a navigator or coach for a patient's case of `program`: (their caseload,
    needs_interpreter, reason in words).

    See navigator.assignment_rules for the rules.
    """
    navigators = _lock_active_navigators(exclude=exclude)
    candidates = assignment_rules.candidates_for(
        patient=patient, navigators=navigators, exclude_case=case_id
    )
    choice = assignment_rules.choose(patient=patient, candidates=candidates, program=program)
    return choice.navigator, choice.needs_interpreter, choice.reason


def navigators_choose_for_new_patients(
    *, openings: Sequence[tuple[Patient, ScreeningProgram]]
) -> list[Choice]:
    """A navigator (or coach) for each of many new cases of patients with no open case
    yet (patient x program), in order, by the rules of `navigator_choose_for`: two
    queries whatever the number of patients.

    The active navigators are locked in pk order (as every assignment locks them) and
    their loads read once; each choice then counts towards the next, as if the cases
    had been assigned one by one. The caller's transaction holds the locks: keep it short.
    """
    if not openings:
        return []
    navigators = _lock_active_navigators()
    loads = assignment_rules.open_case_counts([n.pk for n in navigators])
    choices = []
    for patient, program in openings:
        candidates = assignment_rules.candidates_from(navigators=navigators, loads=loads)
        choice = assignment_rules.choose(patient=patient, candidates=candidates, program=program)
        if choice.navigator is not None:
            loads[choice.navigator.pk] = loads.get(choice.navigator.pk, 0) + 1
        choices.append(choice)
    return choices


def navigators_choose_for_cases(
    *, openings: Sequence[tuple[Patient, ScreeningProgram]]
) -> list[Choice]:
    """A navigator for each of many new cases of stored patients (patient x program),
    in order, by the rules of `navigator_choose_for`: three queries whatever the number.

    As `navigators_choose_for_new_patients` (navigators locked in pk order, loads read
    once and counted on), plus continuity: the patients' other open assigned cases are
    read at once, and each case chosen here counts as that patient's for the next, as
    if the cases had been opened one by one. The caller's transaction holds the locks.
    """
    if not openings:
        return []
    navigators = _lock_active_navigators()
    loads = assignment_rules.open_case_counts([n.pk for n in navigators])
    # Per patient, per navigator: the programs of their open cases, newest first (the
    # order candidates_for reads them in, which the reason's words follow).
    continuity: dict[int, dict[int, list[str]]] = {}
    for patient_id, navigator_id, program_name in (
        NavigationCase.objects.filter(
            patient_id__in={patient.pk for patient, _ in openings},
            status__in=OPEN_STATUSES,
            navigator__isnull=False,
        )
        .order_by("-opened_at", "-pk")
        .values_list("patient_id", "navigator_id", "program__name")
    ):
        continuity.setdefault(patient_id, {}).setdefault(navigator_id, []).append(
            program_name.lower()
        )
    choices = []
    for patient, program in openings:
        by_navigator = continuity.setdefault(patient.pk, {})
        candidates = assignment_rules.candidates_from(
            navigators=navigators,
            loads=loads,
            programs_by_navigator={pk: list(names) for pk, names in by_navigator.items()},
        )
        choice = assignment_rules.choose(patient=patient, candidates=candidates, program=program)
        if choice.navigator is not None:
            loads[choice.navigator.pk] = loads.get(choice.navigator.pk, 0) + 1
            # The newest open case comes first.
            by_navigator.setdefault(choice.navigator.pk, []).insert(0, program.name.lower())
        choices.append(choice)
    return choices


class AssignmentConflict(StaleCaseError):
    """Someone else assigned the case since the form was drawn."""


def case_assign(
    *,
    case: NavigationCase | int,
    navigator: NavigatorProfile,
    actor: User | None,
    reason: str = "",
    needs_interpreter: bool | None = None,
    expected_version: int | None = None,
    rebalance: Rebalance | None = None,
) -> NavigationCase:
    """Give a case to a navigator (first assignment or reassignment).

    With `expected_version`, a case assigned (or otherwise changed) by someone
    else since the form was drawn is refused, naming who did what, so that two
    managers assigning the same case at once cannot both win.
    """
    with transaction.atomic():
        # The navigator before the case, the order rebalancing and automatic assignment
        # lock them in, so that an assignment made during a rebalance waits for it
        # instead of deadlocking with it.
        navigator = NavigatorProfile.objects.select_for_update().get(pk=navigator.pk)
        case_id = case if isinstance(case, int) else case.pk
        try:
            case = case_lock(case_id, expected_version=expected_version)
        except StaleCaseError:
            locked = NavigationCase.objects.select_related("navigator__user").get(pk=case_id)
            assigned = [
                event
                for event in case_changes_since(locked, expected_version or 0)
                if event.kind == CaseEventKind.ASSIGNED
            ]
            if not assigned:
                raise
            raise AssignmentConflict(
                {
                    "version": (
                        f"{actor_name(assigned[-1].actor)} assigned this case to "
                        f"{locked.navigator} after you opened it. Nothing was saved; "
                        "check the case and assign again if needed."
                    )
                },
                code="stale",
            ) from None
        case_ensure_open(case)
        if not navigator.active:
            raise ValidationError({"navigator": f"{navigator} is not an active navigator."})
        if case.navigator_id == navigator.pk:
            return case
        previous = case.navigator
        case.navigator = navigator
        if needs_interpreter is None:
            needs_interpreter = assignment_rules.patient_needs_interpreter(case.patient) and (
                case.patient.preferred_language not in navigator.languages
            )
        case.needs_interpreter = needs_interpreter
        if not reason:
            reason = f"chosen by {actor_name(actor)}"
        case.assignment_reason = reason[:300]
        # Pending reminders go with the case to its new navigator.
        case.follow_up_reminders.filter(dismissed_at=None).update(navigator=navigator)
        case_save_and_record(
            case=case,
            fields=["navigator", "needs_interpreter", "assignment_reason"],
            kind=CaseEventKind.ASSIGNED,
            actor=actor,
            summary=(
                f"Assigned to {navigator}"
                + (f" (was {previous})" if previous else "")
                + (f": {reason}" if reason else "")
            ),
            data={
                "from": previous.pk if previous else None,
                "to": navigator.pk,
                "reason": reason,
                "needs_interpreter": needs_interpreter,
                "rebalance": rebalance.pk if rebalance else None,
            },
        )
        if case.status == CaseStatus.NEW:
            case = case_transition(case=case, to_status=CaseStatus.ASSIGNED, actor=actor)
        return case


def case_assign_automatically(
    *,
    case: NavigationCase,
    actor: User | None,
    exclude: tuple[int, ...] = (),
    rebalance: Rebalance | None = None,
) -> NavigationCase:
    with transaction.atomic():
        navigator, needs_interpreter, reason = navigator_choose_for(
            patient=case.patient, program=case.program, case_id=case.pk, exclude=exclude
        )
        if navigator is None:
            return case
        return case_assign(
            case=case,
            navigator=navigator,
            actor=actor,
            reason=reason,
            needs_interpreter=needs_interpreter,
            rebalance=rebalance,
        )


def navigator_rebalance(
    *,
    from_navigator: NavigatorProfile,
    actor: User,
    count: int | None = None,
    to_navigators: list[NavigatorProfile] | None = None,
    deactivate: bool = False,
) -> Rebalance:
    """Move `count` (or all) of a navigator's open cases to others, in one transaction.

    Each case goes to the best of `to_navigators` (or of every other active
    navigator) by the assignment rules, with loads updated as cases move. With
    `deactivate`, the navigator is leaving: every case moves and the profile is
    made inactive. One Rebalance row logs the action; each case's timeline
    records its move and the reason. Any error moves nothing.
    """
    with transaction.atomic():
        # Navigators first, in pk order (as every assignment locks them), then cases.
        navigators = _lock_active_navigators()
        source = NavigatorProfile.objects.select_for_update().get(pk=from_navigator.pk)
        case_ids = rebalance_order(source)
        errors: dict[str, str] = {}
        if deactivate and count is not None:
            errors["count"] = "A leaving navigator's cases all move; leave the number empty."
        elif count is not None and count < 1:
            errors["count"] = "Move at least one case."
        elif count is not None and count > len(case_ids):
            plural = "" if len(case_ids) == 1 else "s"
            errors["count"] = f"{source} has only {len(case_ids)} open case{plural}."
        if not deactivate and not case_ids:
            errors["count"] = f"{source} has no open cases to move."
        targets = [n for n in navigators if n.pk != source.pk]
        if to_navigators:
            chosen_ids = {n.pk for n in to_navigators}
            if source.pk in chosen_ids:
                errors["to_navigators"] = "Cases cannot move to the navigator they come from."
            by_pk = {n.pk: n for n in targets}
            inactive = [str(n) for n in to_navigators if n.pk not in by_pk and n.pk != source.pk]
            if inactive:
                errors["to_navigators"] = f"Not an active navigator: {', '.join(inactive)}."
            targets = [by_pk[pk] for pk in sorted(chosen_ids) if pk in by_pk]
        if case_ids and not targets and "to_navigators" not in errors:
            errors["to_navigators"] = "No other active navigator can take these cases."
        if errors:
            raise ValidationError(errors)

        moving = case_ids if count is None else case_ids[:count]
        cases = list(
            NavigationCase.objects.select_for_update()
            .filter(pk__in=moving)
            .select_related("patient__clinic", "program")
            .order_by("pk")
        )
        by_pk_case = {c.pk: c for c in cases}
        rebalance = Rebalance.objects.create(
            actor=actor,
            from_navigator=source,
            requested=count,
            deactivated=deactivate,
        )
        loads = assignment_rules.open_case_counts([n.pk for n in targets])
        moved_to: dict[str, int] = {}
        for case_id in moving:
            case = by_pk_case[case_id]
            candidates = assignment_rules.candidates_for(
                patient=case.patient, navigators=targets, exclude_case=case.pk, loads=loads
            )
            choice = assignment_rules.choose(
                patient=case.patient, candidates=candidates, program=case.program
            )
            if choice.navigator is None:  # pragma: no cover - targets is never empty here
                raise ValidationError({"to_navigators": "No navigator can take these cases."})
            case_assign(
                case=case,
                navigator=choice.navigator,
                actor=actor,
                reason=f"{'leaving' if deactivate else 'rebalanced'} from {source}: "
                + choice.reason,
                needs_interpreter=choice.needs_interpreter,
                rebalance=rebalance,
            )
            loads[choice.navigator.pk] = loads.get(choice.navigator.pk, 0) + 1
            moved_to[str(choice.navigator)] = moved_to.get(str(choice.navigator), 0) + 1
        if deactivate:
            source.active = False
            source.save(update_fields=["active"])
        rebalance.moved = len(moving)
        rebalance.summary = (
            f"Moved {len(moving)} case{'s' if len(moving) != 1 else ''} from {source}"
            + (
                ": " + ", ".join(f"{n} to {name}" for name, n in sorted(moved_to.items()))
                if moved_to
                else ""
            )
            + ("; navigator made inactive" if deactivate else "")
        )
        rebalance.save(update_fields=["moved", "summary"])
        return rebalance
