"""Which Celery queue each task goes to (settings: CELERY_TASK_QUEUES, CELERY_TASK_ROUTES).

Past one machine each kind of work has its own queue and its own workers
(docs/deploy.md), scaled on their own: a 100,000-row import or the nightly care-gap
run must not hold up the patient messages due this minute.

- `messaging`: patient messages, reminders and their e-mails (time-sensitive, many and small);
- `caregaps`: care-gap refresh and recompute (the nightly run's batches, and after an
  import);
- `imports`: referral upload jobs and FHIR bulk imports (long, heavy on writes);
- `reports`: digests and what the dashboards read (stored population measures);
- `celery`: Celery's default queue, for the housekeeping named below.

Every task is routed here by name; a name not listed goes by the patterns (a new import
task lands on `imports`), and tests/project/test_celery_queues.py fails for a task that
neither names. A worker started without `-Q` (`make run`, the test workers) consumes
every queue in QUEUES; production workers name theirs (`celery -A config worker -Q
messaging`).
"""

from __future__ import annotations

from fnmatch import fnmatchcase

from kombu import Queue

DEFAULT_QUEUE = "celery"
MESSAGING = "messaging"
CAREGAPS = "caregaps"
IMPORTS = "imports"
REPORTS = "reports"
QUEUE_NAMES: tuple[str, ...] = (MESSAGING, CAREGAPS, IMPORTS, REPORTS, DEFAULT_QUEUE)

# Declared, so that a worker without -Q consumes them all (and the embedded setup, one
# worker, runs every task); each queue's exchange and routing key are its own name.
QUEUES: tuple[Queue, ...] = tuple(Queue(name, routing_key=name) for name in QUEUE_NAMES)

# Task name → queue. Exact names first; then the patterns below, in order.
TASK_QUEUES: dict[str, str] = {
    # Patient messages, follow-up reminders and their e-mails.
    "outreach.tasks.create_follow_up_reminders": MESSAGING,
    "outreach.tasks.send_follow_up_reminder_email": MESSAGING,
    "outreach.tasks.sweep_unsent_reminder_emails": MESSAGING,
    "outreach.tasks.send_patient_message": MESSAGING,
    "outreach.tasks.send_patient_messages": MESSAGING,
    "outreach.tasks.sweep_patient_messages": MESSAGING,
    "outreach.tasks.schedule_recall_messages": MESSAGING,
    "outreach.tasks.schedule_group_reminders": MESSAGING,
    # Care gaps: the nightly refresh and its batches, after an import, after a FHIR
    # bulk import.
    "patients.tasks.refresh_care_gaps": CAREGAPS,
    "patients.tasks.refresh_care_gaps_batch": CAREGAPS,
    "patients.tasks.refresh_care_gaps_for": CAREGAPS,
    "patients.tasks.fhir_bulk_import_care_gaps": CAREGAPS,
    # Imports (issue 15): the referral upload job and the FHIR bulk import's batches.
    "patients.tasks.fhir_bulk_import_run": IMPORTS,
    "patients.tasks.import_referral_upload": IMPORTS,
    # Reports: the clinics' daily digest and the stored population measures that the
    # equity dashboard reads (a full measure refresh runs for minutes).
    "patients.tasks.send_referral_digests": REPORTS,
    "patients.tasks.send_clinic_referral_digest": REPORTS,
    "patients.tasks.refresh_measure_populations": REPORTS,
    "patients.tasks.refresh_measure_populations_for": REPORTS,
    "patients.tasks.compute_last_quarter_populations": REPORTS,
    # Housekeeping on the default queue: the audit trail's nightly purge, the hourly
    # scan of the programmes' task rules and the sweep of import jobs whose task was lost
    # (small, and nothing waits on them).
    "navigator.audit.tasks.purge_expired_audit": DEFAULT_QUEUE,
    "outreach.tasks.scan_case_tasks": DEFAULT_QUEUE,
    # The sweeper of import jobs whose task was lost: housekeeping, not behind a long
    # import on `imports` (what it re-enqueues goes there).
    "patients.tasks.resume_stuck_imports": DEFAULT_QUEUE,
}

# A task added later under a name not listed above goes by what its name says.
# (fnmatch: `*` matches dots too.)
TASK_PATTERNS: tuple[tuple[str, str], ...] = (
    ("*care_gap*", CAREGAPS),
    ("*import*", IMPORTS),
    ("*digest*", REPORTS),
    ("*report*", REPORTS),
    ("*population*", REPORTS),
    ("outreach.tasks.*message*", MESSAGING),
    ("outreach.tasks.*reminder*", MESSAGING),
)


def queue_for(task_name: str) -> str | None:
    """The queue `task_name` is routed to, or None when no name or pattern covers it."""
    if task_name in TASK_QUEUES:
        return TASK_QUEUES[task_name]
    for pattern, queue in TASK_PATTERNS:
        if fnmatchcase(task_name, pattern):
            return queue
    return None


def task_routes() -> dict[str, dict[str, str]]:
    """CELERY_TASK_ROUTES: Celery tries exact names, then glob patterns in this order
    (the same order as `queue_for`)."""
    routes = {name: {"queue": queue} for name, queue in TASK_QUEUES.items()}
    routes.update({pattern: {"queue": queue} for pattern, queue in TASK_PATTERNS})
    return routes
