"""Reads for the worklist: whose cases make it up, its ranked query (rules:
navigator.worklist), its rows and the tasks shown beside it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db import router
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from navigator.models import OPEN_STATUSES, Coverage, NavigationCase, NavigatorProfile, User
from navigator.selectors.visibility import cases_visible_to, navigators_covered_by
from navigator.worklist.compiled import WorklistCases
from navigator.worklist.filters import Filters
from navigator.worklist.paged import page_query
from navigator.worklist.query import annotate, ordering
from navigator.worklist.replayed import replayed_instances, replayed_row
from navigator.worklist.rows import rows
from navigator.worklist.rules import Moment
from outreach.models import CaseTask, ContactAttempt


def _sees_as(user: User) -> tuple[object, ...]:
    """What the cases `user` may see turn on (`cases_visible_to`: who, their role,
    superuser or not): part of every key the worklist's SQL is kept under
    (navigator.worklist.replayed), so that all of them change together."""
    return (user.pk, getattr(user, "role", ""), user.is_superuser)


def worklist_navigators(
    *, user: User, navigator: NavigatorProfile | None = None, on: dt.date | None = None
) -> list[NavigatorProfile]:
    """Whose open cases make up a worklist: its navigator (`navigator`, by default
    `user`'s own profile) and the colleagues that navigator covers on `on`, each of
    those with the day the cover ends (`covered_until`). One query.

    Resolved up front so that the worklist's query filters on a short list of ids:
    PostgreSQL then reads those navigators' cases through the navigator index,
    where an OR across the coverage table had it scan every case. Its SQL is
    compiled once per user and day (navigator.worklist.replayed).
    """
    on = on or timezone.localdate()
    owner_user = navigator.user if navigator is not None else user
    if not owner_user.is_authenticated:
        return []

    def build() -> QuerySet[NavigatorProfile]:
        cover = Coverage.objects.filter(
            absent=OuterRef("pk"),
            covering__user=owner_user,
            starts_on__lte=on,
            ends_on__gte=on,
            cancelled_at=None,
        )
        whose = Q(user=owner_user) | Q(pk__in=navigators_covered_by(owner_user, on))
        return (
            NavigatorProfile.objects.filter(whose)
            .select_related("user")
            .annotate(covered_until=Subquery(cover.order_by("-ends_on").values("ends_on")[:1]))
            .order_by("user__last_name", "user__first_name", "pk")
        )

    # Built and compiled once per user, day and process; run every time.
    key = ("worklist_navigators", router.db_for_read(NavigatorProfile), owner_user.pk, on)
    return replayed_instances(key, build)


def worklist_for(
    *,
    user: User,
    navigators: Sequence[NavigatorProfile] | None = None,
    filters: Filters | None = None,
    moment: Moment | None = None,
) -> QuerySet[NavigationCase]:
    """The open cases on a worklist, ranked (rules: navigator.worklist), with what
    each row shows, in one query however many there are.

    `navigators` are whose cases (`worklist_navigators`); by default the user's own
    worklist. Whatever the list, only cases `user` may see are on it.
    """
    moment = moment or Moment.current()
    filters = filters or Filters()
    if navigators is None:
        navigators = worklist_navigators(user=user, on=moment.today)
    return _ranked(_listed(user, navigators, filters, moment), filters, moment)


def _listed(
    user: User, navigators: Sequence[NavigatorProfile], filters: Filters, moment: Moment
) -> QuerySet[NavigationCase]:
    """The cases on the list, filtered, before any ranking."""
    cases = cases_visible_to(user).filter(
        status__in=OPEN_STATUSES, navigator__in=[n.pk for n in navigators]
    )
    return filters.apply(cases, moment)


def _ranked(
    cases: QuerySet[NavigationCase], filters: Filters, moment: Moment
) -> QuerySet[NavigationCase]:
    cases = cases.select_related("patient", "program", "navigator__user")
    return annotate(cases, moment).order_by(*ordering(filters.sort))


def worklist_cases(
    *,
    user: User,
    navigators: Sequence[NavigatorProfile],
    filters: Filters | None = None,
    moment: Moment,
) -> WorklistCases:
    """`worklist_for` as the worklist's page and API read it: a page (slice) is one
    query, compiled once per shape and process (navigator.worklist.compiled), that
    ranks the cases on facts worked out once each and then reads the page's rows
    (navigator.worklist.paged); the count is another, without the rules."""
    filters = filters or Filters()
    # The queryset is built only when its SQL is not kept yet (WorklistCases): the
    # database it reads is the router's, as the queryset's own `.db`.
    using = router.db_for_read(NavigationCase)

    def listed() -> QuerySet[NavigationCase]:
        return _listed(user, navigators, filters, moment)

    # Everything the SQL or its bound values depend on, "now" aside.
    key = (
        using,
        *_sees_as(user),
        timezone.localdate(),
        moment.today,
        tuple(n.pk for n in navigators),
        filters,
    )
    return WorklistCases(
        key=key,
        using=using,
        base=listed,
        page=lambda at, start, stop: page_query(
            listed(), sort=filters.sort, moment=at, start=start, stop=stop
        ),
        moment=moment,
    )


def worklist_owner(*, user: User, navigator_id: int) -> NavigatorProfile | None:
    """The navigator whose worklist `user` asked for, if they may open it: managers
    and admins anyone's, a navigator their own or a colleague's they cover today."""
    navigators = NavigatorProfile.objects.select_related("user")
    if not user.is_authenticated:
        return None
    if not user.sees_all_cases:
        if not user.works_caseload:
            return None
        navigators = navigators.filter(Q(user=user) | Q(pk__in=navigators_covered_by(user)))
    return navigators.filter(pk=navigator_id).first()


def worklist_rows(
    cases: Iterable[NavigationCase],
    *,
    user: User,
    navigator: NavigatorProfile | None = None,
    moment: Moment,
) -> list[NavigationCase]:
    """The worklist's cases with their reasons and, on a case its navigator handed
    over, "covering for" them. Covering is said from the point of view of whoever
    works the list: the navigator signed in, or (for a manager looking on) the
    navigator whose list it is."""
    if user.works_caseload or navigator is None:
        return rows(
            cases,
            moment=moment,
            covering=lambda case: case.navigator is not None and case.navigator.user_id != user.pk,
        )
    return rows(cases, moment=moment, covering=lambda case: case.navigator_id != navigator.pk)


def worklist_tasks(
    *, user: User, navigators: Sequence[NavigatorProfile], today: dt.date
) -> QuerySet[CaseTask]:
    """The navigators' own tasks due by `today` on their open cases, soonest first
    (escalations are the managers')."""
    return (
        CaseTask.objects.filter(
            for_manager=False,
            done_at=None,
            case__status__in=sorted(OPEN_STATUSES),
            due_on__lte=today,
            case__navigator__in=navigators,
            case__in=cases_visible_to(user),
        )
        .select_related("case__patient")
        .order_by("due_on", "pk")
    )


def worklist_tasks_due(
    *, user: User, navigators: Sequence[NavigatorProfile], today: dt.date, limit: int
) -> list[CaseTask]:
    """`list(worklist_tasks(...)[:limit])`, with their cases and patients: what the page
    shows beside the list. Its SQL is compiled once per key and process
    (navigator.worklist.replayed): everything it and its values depend on (who sees,
    whose cases, the day, the site's date `cases_visible_to` reads for covers)."""
    key = (
        "worklist_tasks_due",
        router.db_for_read(CaseTask),
        *_sees_as(user),
        tuple(n.pk for n in navigators),
        today,
        timezone.localdate(),
        limit,
    )
    return replayed_instances(
        key, lambda: worklist_tasks(user=user, navigators=navigators, today=today)[:limit]
    )


@dataclass(frozen=True)
class CallsToday:
    """The morning plan's count: calls due today on a worklist, and how many are done."""

    due: int
    done: int


def worklist_calls_today(
    *, user: User, navigators: Sequence[NavigatorProfile], caller: User, moment: Moment
) -> CallsToday:
    """How many calls are due today on the worklist of `navigators` (as `user` may
    see it, whatever its filters), and how many of them `caller` has made. One query.

    A case is due today when it is open and its next follow-up is today or earlier,
    or no contact attempt was logged on it before today; a case `caller` logged an
    attempt on today counts as due too, since logging it usually moves the follow-up
    date on (a call made must not leave the plan). Done: a contact attempt logged
    by `caller` today, any outcome, any channel. Days are the site's.
    """

    def run() -> CallsToday:
        today = Q(attempted_at__gte=moment.day_starts, attempted_at__lt=moment.day_ends)
        counts = (
            cases_visible_to(user)
            .filter(status__in=OPEN_STATUSES, navigator__in=[n.pk for n in navigators])
            .alias(
                called=Exists(
                    ContactAttempt.objects.filter(today, case=OuterRef("pk"), created_by=caller)
                ),
                contacted_before=Exists(
                    ContactAttempt.objects.filter(
                        case=OuterRef("pk"), attempted_at__lt=moment.day_starts
                    )
                ),
            )
            .aggregate(
                due=Count(
                    "pk",
                    filter=Q(next_follow_up__lte=moment.today)
                    | Q(contacted_before=False)
                    | Q(called=True),
                ),
                done=Count("pk", filter=Q(called=True)),
            )
        )
        return CallsToday(due=counts["due"], done=counts["done"])

    # Compiled once per key and process (navigator.worklist.replayed): everything the
    # SQL and its values depend on. The row's columns are the aggregate's, in order.
    using = router.db_for_read(NavigationCase)
    key = (
        "worklist_calls_today",
        using,
        *_sees_as(user),
        tuple(n.pk for n in navigators),
        caller.pk,
        moment.today,
        moment.day_starts,
        timezone.localdate(),
    )
    return replayed_row(
        key,
        using=using,
        run=run,
        read=lambda row: CallsToday(due=int(row[0]), done=int(row[1])),
    )
