"""The outreach protocol's next step, as a pure function of plain facts.

Given a program's cadence, a case's contact attempts so far (the last one is the
outcome being reacted to) and the patient's numbers, `next_step` says when to try
next, by which channel and number, why, and whether the case should now be
proposed for closing as unreachable. It reads and writes nothing, so that every
rule is pinned by tests on plain data; `outreach.services.attempts.attempt_log` gathers
the facts and applies the answer.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace

from django.utils import timezone

from outreach.models import UNSUCCESSFUL_OUTCOMES, Channel, Direction, Outcome, OutreachProtocol

# Channels that need a working phone number.
NUMBER_CHANNELS = frozenset({Channel.PHONE, Channel.SMS})
# Where no number is left and the protocol has no other channel to offer.
NO_NUMBER_FALLBACK = Channel.LETTER


@dataclass(frozen=True)
class Step:
    order: int
    day: int
    channel: str


@dataclass(frozen=True)
class Cadence:
    """A program's outreach protocol, detached from the database."""

    steps: tuple[Step, ...]
    unreachable_after_attempts: int = 4
    unreachable_after_days: int = 14
    reached_follow_up_days: int = 7

    @classmethod
    def of(cls, protocol: OutreachProtocol) -> Cadence:
        return cls(
            steps=tuple(
                Step(order=s.order, day=s.day, channel=s.channel)
                for s in sorted(protocol.steps.all(), key=lambda s: s.order)
            ),
            unreachable_after_attempts=protocol.unreachable_after_attempts,
            unreachable_after_days=protocol.unreachable_after_days,
            reached_follow_up_days=protocol.reached_follow_up_days,
        )


@dataclass(frozen=True)
class Attempt:
    at: dt.datetime
    outcome: str
    channel: str
    direction: str = Direction.OUTBOUND
    phone: int | None = None

    @property
    def on(self) -> dt.date:
        return timezone.localdate(self.at) if timezone.is_aware(self.at) else self.at.date()

    @property
    def unsuccessful(self) -> bool:
        return self.direction == Direction.OUTBOUND and self.outcome in UNSUCCESSFUL_OUTCOMES


@dataclass(frozen=True)
class Phone:
    pk: int
    kind: str  # "mobile", "home", "work": how the number is named to the navigator
    is_bad: bool = False


@dataclass(frozen=True)
class NextStep:
    """What to do next. `on` None: the protocol proposes no follow-up (see `explanation`)."""

    on: dt.date | None
    channel: str
    phone: int | None
    explanation: str
    step: int | None = None  # the protocol step the next attempt is, if it is one
    steps: int = 0  # how many steps the protocol has
    propose_unreachable: bool = False
    needs_interpreter: bool = False
    unsuccessful: int = 0  # unsuccessful attempts counted towards the unreachable proposal
    span_days: int = 0  # ...made over this many days


def short_date(day: dt.date, today: dt.date) -> str:
    if day == today:
        return "today"
    if day == today + dt.timedelta(days=1):
        return f"tomorrow ({day.day} {day:%b})"
    return f"{day.day} {day:%b}"


def channel_name(channel: str) -> str:
    return Channel(channel).label.lower() if channel in Channel.values else channel


def next_step(
    *,
    cadence: Cadence,
    attempts: Sequence[Attempt],
    phones: Sequence[Phone],
    today: dt.date,
    sms_consent: bool = True,
    counting_since: dt.datetime | None = None,
    may_propose_unreachable: bool = True,
) -> NextStep:
    """The next follow-up after the last of `attempts` (oldest first).

    `phones` are the patient's numbers in the order to try them, with any number
    the last attempt found wrong already marked bad. Attempts at or before
    `counting_since` (a manager's decision to keep trying) do not count towards
    proposing the case as unreachable again. `may_propose_unreachable` False (a case
    waiting on a result's follow-up closes only through the safety net) plans the
    next step without ever proposing it.
    """
    planner = _Planner(cadence, list(attempts), list(phones), today, sms_consent, counting_since)
    planner.may_propose_unreachable = may_propose_unreachable
    return planner.plan()


class _Planner:
    def __init__(
        self,
        cadence: Cadence,
        attempts: list[Attempt],
        phones: list[Phone],
        today: dt.date,
        sms_consent: bool,
        counting_since: dt.datetime | None,
    ) -> None:
        self.cadence = cadence
        self.may_propose_unreachable = True
        self.steps = cadence.steps
        self.attempts = attempts
        self.today = today
        self.sms_consent = sms_consent
        self.counting_since = counting_since
        self.good = [phone for phone in phones if not phone.is_bad]
        # Calls and texts are off only when every number on file is known to be bad:
        # with none on file, the navigator may still have one (a referral note, say).
        self.no_good_number = bool(phones) and not self.good
        # The current run: unsuccessful outbound attempts since the patient was last reached.
        last_reached = max(
            (i for i, a in enumerate(attempts) if a.outcome == Outcome.REACHED), default=-1
        )
        self.run = [a for a in attempts[last_reached + 1 :] if a.unsuccessful]

    # --- helpers ---------------------------------------------------------------------

    def usable(self, channel: str) -> bool:
        if channel not in NUMBER_CHANNELS:
            return True
        if self.no_good_number:
            return False
        return channel != Channel.SMS or self.sms_consent

    def number_for(self, channel: str, preferred: int | None = None) -> int | None:
        if channel not in NUMBER_CHANNELS or not self.good:
            return None
        if preferred is not None and any(p.pk == preferred for p in self.good):
            return preferred
        return self.good[0].pk

    def step_index(self, start: int, *, without_number: bool = False) -> int | None:
        """The first step from index `start` that can go out (skipping, e.g., an SMS
        step for a patient who has not consented to texts)."""
        for index in range(start, len(self.steps)):
            channel = self.steps[index].channel
            if without_number and channel in NUMBER_CHANNELS:
                continue
            if self.usable(channel):
                return index
        return None

    def position(self) -> int:
        """How many steps of the cadence the current run has used up.

        Each attempt uses up one step, and also the steps before it that it went
        round: an attempt by letter where the cadence had calls that can no longer
        go out (no good number, no SMS consent) uses up those calls too.
        """
        position = 0
        for attempt in self.run:
            ahead = position
            while (
                ahead < len(self.steps)
                and self.steps[ahead].channel != attempt.channel
                and not self.usable(self.steps[ahead].channel)
            ):
                ahead += 1
            if ahead < len(self.steps) and self.steps[ahead].channel == attempt.channel:
                position = ahead
            position += 1
        return position

    def of_steps(self, index: int) -> str:
        return f"step {self.steps[index].order} of {len(self.steps)}"

    def result(self, on, channel, explanation, *, index=None, phone=None, **extra) -> NextStep:
        return NextStep(
            on=on,
            channel=channel,
            phone=phone if phone is not None else self.number_for(channel),
            explanation=explanation,
            step=self.steps[index].order if index is not None else None,
            steps=len(self.steps),
            **extra,
        )

    # --- the rules -------------------------------------------------------------------

    def plan(self) -> NextStep:
        if not self.attempts:
            return self.protocol_step("first attempt")
        last = self.attempts[-1]
        outcome = last.outcome
        if outcome == Outcome.REACHED:
            planned = self.reached(last)
        elif last.direction != Direction.OUTBOUND:
            planned = self.protocol_step(f"inbound {Outcome(outcome).label.lower()}: not counted")
        elif outcome in {Outcome.WRONG_NUMBER, Outcome.DISCONNECTED}:
            planned = self.bad_number(last)
        elif outcome == Outcome.LANGUAGE_BARRIER:
            planned = self.language_barrier(last)
        elif outcome in UNSUCCESSFUL_OUTCOMES:
            planned = self.protocol_step()
        elif outcome == Outcome.REFUSED:
            planned = self.result(
                None, "", "refused: no automatic follow-up; consider closing the case as declined"
            )
        elif outcome == Outcome.DECEASED:
            planned = self.result(
                None, "", "deceased: no further outreach; close the case as ineligible"
            )
        elif outcome == Outcome.MOVED:
            planned = self.result(
                None,
                "",
                "moved: no automatic follow-up; record the new address or number and set a "
                "follow-up, or close the case as ineligible if they left the area",
            )
        elif outcome == Outcome.SCREENED_ELSEWHERE:
            on = self.today + dt.timedelta(days=self.cadence.reached_follow_up_days)
            planned = self.result(
                on,
                "",
                "screened elsewhere: ask for the record and record the screening; "
                f"check again on {short_date(on, self.today)}",
            )
        else:
            planned = self.protocol_step("outcome “other”: not counted")
        return self.with_proposal(planned)

    def reached(self, last: Attempt) -> NextStep:
        days = self.cadence.reached_follow_up_days
        on = self.today + dt.timedelta(days=days)
        channel = last.channel
        return self.result(
            on,
            channel,
            f"reached: next {channel_name(channel)} on {short_date(on, self.today)}, "
            f"in {days} days",
            phone=self.number_for(channel, last.phone),
        )

    def protocol_step(self, prefix: str = "") -> NextStep:
        """The step after the unsuccessful attempts of the current run."""
        lead = f"{prefix}; " if prefix else ""
        done = self.position()
        index = self.step_index(done)
        if index is None:
            if done < len(self.steps):
                lead += f"skipping {self.skipped_reason(done, len(self.steps))}; "
            return self.exhausted(lead)
        step = self.steps[index]
        start = self.run[0].on if self.run else self.today
        planned = start + dt.timedelta(days=step.day)
        # A step the protocol puts on the same day as the one before may go today;
        # otherwise never the same day as the attempt just made.
        same_day = index > 0 and self.steps[index - 1].day == step.day and bool(self.run)
        earliest = self.today if same_day or not self.run else self.today + dt.timedelta(days=1)
        on = max(planned, earliest)
        late = f", due {short_date(planned, self.today)}" if on > planned else ""
        skipped = ""
        if index > done:
            skipped = f" (skipping {self.skipped_reason(done, index)})"
        return self.result(
            on,
            step.channel,
            f"{lead}next: {channel_name(step.channel)} on {short_date(on, self.today)}, "
            f"{self.of_steps(index)}{late}{skipped}",
            index=index,
        )

    def skipped_reason(self, done: int, index: int) -> str:
        channels = {self.steps[i].channel for i in range(done, index)}
        if self.no_good_number and channels & NUMBER_CHANNELS:
            return "calls and texts: no good number"
        return "texts: no SMS consent"

    def exhausted(self, lead: str) -> NextStep:
        """Every step done: keep the last channel that can still go out, every few days."""
        days = self.cadence.reached_follow_up_days
        on = self.today + dt.timedelta(days=days)
        channels = [s.channel for s in self.steps] or [a.channel for a in self.attempts[-1:]]
        usable = [channel for channel in channels if self.usable(channel)]
        channel = usable[-1] if usable else NO_NUMBER_FALLBACK
        done = f"all {len(self.steps)} steps done" if self.steps else "the protocol has no steps"
        return self.result(
            on,
            channel,
            f"{lead}{done}: next {channel_name(channel)} on {short_date(on, self.today)}, "
            f"every {days} days",
        )

    def bad_number(self, last: Attempt) -> NextStep:
        what = Outcome(last.outcome).label.lower()
        if self.good:
            phone = self.good[0]
            return self.result(
                self.today,
                Channel.PHONE,
                f"{what}: next phone today on the {phone.kind} number",
                phone=phone.pk,
            )
        index = self.step_index(self.position(), without_number=True)
        if index is None:
            return self.result(
                self.today,
                NO_NUMBER_FALLBACK,
                f"{what}: no good number left and no further step without a phone: "
                f"next {channel_name(NO_NUMBER_FALLBACK)} today",
            )
        channel = self.steps[index].channel
        return self.result(
            self.today,
            channel,
            f"{what}: no good number left: next {channel_name(channel)} today, "
            f"{self.of_steps(index)}",
            index=index,
        )

    def language_barrier(self, last: Attempt) -> NextStep:
        on = self.today + dt.timedelta(days=1)
        return self.result(
            on,
            Channel.PHONE,
            f"language barrier: next phone {short_date(on, self.today)} with an interpreter",
            phone=self.number_for(Channel.PHONE, last.phone),
            needs_interpreter=True,
        )

    def with_proposal(self, planned: NextStep) -> NextStep:
        """After N unsuccessful attempts over at least M days without reaching the
        patient, propose closing the case as unreachable."""
        last = self.attempts[-1] if self.attempts else None
        if last is None or not last.unsuccessful or not self.may_propose_unreachable:
            return planned
        since = self.counting_since
        counted = [a for a in self.run if since is None or a.at > since]
        if not counted:
            return planned
        span = (counted[-1].on - counted[0].on).days
        propose = (
            len(counted) >= self.cadence.unreachable_after_attempts
            and span >= self.cadence.unreachable_after_days
        )
        explanation = planned.explanation
        if propose:
            explanation += (
                f"; {len(counted)} unsuccessful attempts over {span} days: "
                "proposed for closing as unreachable"
            )
        return replace(
            planned,
            explanation=explanation,
            propose_unreachable=propose,
            unsuccessful=len(counted),
            span_days=span,
        )
