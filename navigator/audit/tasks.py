from celery import shared_task

from navigator.audit.retention import audit_purge_expired


@shared_task
def purge_expired_audit() -> None:
    """Nightly: the audit trail past its retention period goes (safe to run twice: a
    second run finds nothing older than the cutoff)."""
    audit_purge_expired()
