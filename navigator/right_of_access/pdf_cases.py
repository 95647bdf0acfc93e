"""The PDF's section for each navigation case: where it stands, its timeline, calls,
barriers, appointments, kits, result follow-ups, tasks, interpreters, reminders and
coaching (sessions, goals, group classes)."""

from __future__ import annotations

from navigator.right_of_access.pdf_layout import SUBHEADING, Story, day, moment, yes_no
from navigator.right_of_access.records import PatientRecord, staff_name


def case_section(story: Story, record: PatientRecord, case) -> None:
    navigator = case.navigator.user if case.navigator else None
    story.heading(f"{case.program.name} navigation (case {case.pk})")
    story.facts(
        [
            ("Where it stands", case.get_status_display()),
            ("Navigator", staff_name(navigator) or "Not assigned"),
            ("Opened", moment(case.opened_at)),
            ("Screening completed", moment(case.completed_at)),
            ("Closed", moment(case.closed_at)),
            ("Next follow-up", day(case.next_follow_up)),
            ("Interpreter needed", yes_no(case.needs_interpreter)),
            ("Why this navigator", case.assignment_reason),
        ]
    )
    story.heading("What happened, in order", SUBHEADING)
    story.table(
        ["When", "What", "Who", "Details"],
        [
            [
                moment(e.at),
                e.get_kind_display(),
                staff_name(e.actor) or "EquiNav",
                e.data.get("text") if e.kind == "note" and e.data.get("text") else e.summary,
            ]
            for e in record.of_case(case, "events")
        ],  # fmt: skip
        [1.3, 1.4, 1.3, 4],
        "Nothing recorded.",
    )
    story.heading("Calls, texts and visits", SUBHEADING)
    story.table(
        ["When", "How", "Outcome", "By", "Note"],
        [
            [
                moment(a.attempted_at),
                f"{a.get_channel_display()}, {a.get_direction_display()}"
                + (f" ({a.phone.number.as_national})" if a.phone else ""),
                f"{a.get_outcome_display()} - {a.get_purpose_display()}",
                staff_name(a.created_by),
                a.note
                + (
                    f"\nInterpreter: {a.get_interpreted_by_display()}" if a.interpreter_used else ""
                ),
            ]
            for a in record.of_case(case, "attempts")
        ],  # fmt: skip
        [1.3, 1.5, 1.6, 1.2, 2.4],
        "None.",
    )
    story.heading("Barriers to screening", SUBHEADING)
    story.table(
        ["Identified", "Barrier", "Status", "What was done", "By"],
        [
            [
                day(b.identified_on),
                f"{b.barrier_type.name} ({b.barrier_type.category.name})",
                b.get_status_display() + (f" {day(b.resolved_on)}" if b.resolved_on else ""),
                "\n".join(
                    x
                    for x in (b.action, f"on {day(b.action_on)}" if b.action_on else "", b.note)
                    if x
                ),
                staff_name(b.created_by),
            ]
            for b in record.of_case(case, "barriers")
        ],  # fmt: skip
        [1.1, 2, 1.3, 2.6, 1.2],
        "None.",
    )
    story.heading("Appointments", SUBHEADING)
    story.table(
        ["When", "What", "Where", "Status", "Booked by"],
        [
            [
                moment(a.scheduled_at),
                a.get_purpose_display() + (f": {a.modality.name}" if a.modality else ""),
                a.site,
                a.get_status_display() + (f"\n{a.note}" if a.note else ""),
                f"{staff_name(a.created_by)}, {moment(a.created_at)}",
            ]
            for a in record.of_case(case, "appointments")
        ],  # fmt: skip
        [1.3, 1.6, 1.8, 1.6, 1.7],
        "None.",
    )
    case_more(story, record, case)


def case_more(story: Story, record: PatientRecord, case) -> None:
    kits = record.of_case(case, "kits")
    if kits:
        story.heading("Test kits mailed", SUBHEADING)
        story.table(
            ["Mailed", "Kit", "Back", "By"],
            [
                [
                    day(k.mailed_on),
                    k.modality.name,
                    day(k.returned_on) or "Not yet",
                    staff_name(k.created_by),
                ]
                for k in kits
            ],  # fmt: skip
            [1.3, 2.5, 1.3, 1.8],
            "",
        )
    story.heading("Next steps a result called for", SUBHEADING)
    story.table(
        ["Result on", "Next step", "Due by", "Where it stands"],
        [
            [
                day(f.result_on),
                f"{f.next_step} ({f.next_modality.name})",
                day(f.due_on) + (f" (at the latest {day(f.limit_on)})" if f.limit_on else ""),
                f.get_state_display()
                + (f" {day(f.done_on)}" if f.done_on else "")
                + (f": {f.get_close_reason_display()}" if f.close_reason else "")
                + (f" - {f.close_note}" if f.close_note else "")
                + (f" (confirmed by {staff_name(f.closed_by)})" if f.closed_by else ""),
            ]
            for f in record.of_case(case, "follow_ups")
        ],  # fmt: skip
        [1.1, 2.8, 1.6, 2.5],
        "None.",
    )
    story.heading("Tasks for staff", SUBHEADING)
    story.table(
        ["Due", "Task", "For", "Done"],
        [
            [
                day(t.due_on),
                t.summary,
                "Program managers" if t.for_manager else "Navigator",
                f"{moment(t.done_at)} by {staff_name(t.done_by)}"
                + (f": {t.done_note}" if t.done_note else "")
                if t.done_at
                else "Open",
            ]
            for t in record.of_case(case, "tasks")
        ],  # fmt: skip
        [1.1, 3, 1.3, 2.6],
        "None.",
    )
    interpreters = record.of_case(case, "interpreter_requests")
    if interpreters:
        story.heading("Interpreters arranged", SUBHEADING)
        story.table(
            ["For", "Language", "How", "Status", "Who interprets", "Asked by"],
            [
                [
                    moment(i.needed_at),
                    i.language_name,
                    i.get_modality_display(),
                    i.get_status_display() + (f"\n{i.note}" if i.note else ""),
                    i.provider,
                    staff_name(i.created_by),
                ]
                for i in interpreters
            ],  # fmt: skip
            [1.3, 1.1, 1, 1.6, 1.6, 1.3],
            "",
        )
    _coaching(story, record, case)
    reminders = record.of_case(case, "reminders")
    if reminders:
        story.heading("Reminders to your navigator to follow up", SUBHEADING)
        story.table(
            ["Due", "Navigator", "Dismissed"],
            [
                [day(r.due_on), staff_name(r.navigator.user), moment(r.dismissed_at)]
                for r in reminders
            ],  # fmt: skip
            [1.5, 3, 2],
            "",
        )


def _coaching(story: Story, record: PatientRecord, case) -> None:
    sessions = record.of_case(case, "coaching_sessions")
    if sessions:
        story.heading("Coaching sessions", SUBHEADING)
        story.table(
            ["When", "Topics", "What happened", "Minutes", "Coach"],
            [
                [
                    moment(s.scheduled_at),
                    ", ".join(s.topic_labels) + (f"\n{s.note}" if s.note else ""),
                    f"{s.get_status_display()} ({s.language_name})",
                    str(s.minutes_spent or ""),
                    staff_name(s.coach),
                ]
                for s in sessions
            ],  # fmt: skip
            [1.3, 2.4, 1.6, 0.8, 1.4],
            "",
        )
    goals = record.of_case(case, "coaching_goals")
    if goals:
        story.heading("Your goals", SUBHEADING)
        story.table(
            ["Set", "Goal", "About", "Reviewed"],
            [
                [
                    moment(g.set_in.scheduled_at),
                    g.text,
                    g.get_behaviour_display(),
                    f"{g.get_outcome_display()}, {moment(g.reviewed_in.scheduled_at)}"
                    if g.reviewed_in
                    else "Not yet",
                ]
                for g in goals
            ],  # fmt: skip
            [1.3, 3, 1.4, 1.8],
            "",
        )
    enrolments = record.of_case(case, "group_enrolments")
    if enrolments:
        story.heading("Group classes", SUBHEADING)
        story.table(
            ["Class series", "Enrolled", "Classes"],
            [
                [
                    f"{e.series.name} ({e.series.language_name})\n{e.get_status_display()}",
                    moment(e.enrolled_at),
                    "\n".join(
                        f"{moment(a.session.starts_at)} {a.session.series.name} "
                        f"#{a.session.number}: {a.get_status_display()}"
                        + (f", {a.minutes} min" if a.minutes else "")
                        + (" (make-up)" if a.makeup_for_id else "")
                        for a in record.attendance_of(e)
                    ),
                ]
                for e in enrolments
            ],  # fmt: skip
            [2.2, 1.3, 4],
            "",
        )
