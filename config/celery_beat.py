"""What Celery beat enqueues, and when (settings: CELERY_BEAT_SCHEDULE).

Exactly one beat process runs (docs/deploy.md): two would enqueue every entry twice.
Each entry's task is routed to its queue by config/celery_queues.py, and
tests/project/test_celery_queues.py fails for an entry whose task is not routed.
"""

from __future__ import annotations

from celery.schedules import crontab

BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    "audit-retention-nightly": {
        "task": "navigator.audit.tasks.purge_expired_audit",
        # 07:30 UTC: the small hours across the continental US.
        "schedule": crontab(hour=7, minute=30),
    },
    "follow-up-reminders-daily": {
        "task": "outreach.tasks.create_follow_up_reminders",
        # 11:00 UTC is early morning across the continental US.
        "schedule": crontab(hour=11, minute=0),
    },
    "follow-up-reminder-email-sweep": {
        # Re-sends any reminder email whose task was lost (a worker died, the
        # broker restarted); the database, not the queue, is the source of truth.
        "task": "outreach.tasks.sweep_unsent_reminder_emails",
        "schedule": crontab(minute="*/15"),
    },
    "patient-message-sweep": {
        # Claims due patient messages and hands them to workers; a message whose
        # task was lost is claimed again when its lease runs out.
        "task": "outreach.tasks.sweep_patient_messages",
        "schedule": crontab(minute="*"),
    },
    "stuck-import-sweep": {
        # Re-enqueues an import job (referral upload, FHIR bulk) whose task was lost: the
        # embedded broker never redelivers one. Its tasks are safe to run twice.
        "task": "patients.tasks.resume_stuck_imports",
        "schedule": crontab(minute="*/5"),
    },
    "case-task-scan": {
        # Navigator tasks and manager escalations from the programs' task rules.
        "task": "outreach.tasks.scan_case_tasks",
        "schedule": crontab(minute=5),
    },
    "recall-messages-daily": {
        "task": "outreach.tasks.schedule_recall_messages",
        "schedule": crontab(hour=12, minute=30),
    },
    "referral-digest-daily": {
        # The clinics' e-mail of the referrals that changed: 12:00 UTC, morning across the
        # continental US. Each clinic is its own task; each user gets one e-mail a day.
        "task": "patients.tasks.send_referral_digests",
        "schedule": crontab(hour=12, minute=0),
    },
    "care-gaps-nightly": {
        # 07:00 UTC is the small hours across the continental US: gaps are
        # current before navigators start, and before the 11:00 reminders.
        "task": "patients.tasks.refresh_care_gaps",
        "schedule": crontab(hour=7, minute=0),
    },
    "population-measures-quarterly": {
        # The first day of each quarter, after the nightly care gaps: every population
        # measure for the quarter that just ended (the disparities dashboard's series).
        "task": "patients.tasks.compute_last_quarter_populations",
        "schedule": crontab(hour=8, minute=0, day_of_month=1, month_of_year="1,4,7,10"),
    },
}
