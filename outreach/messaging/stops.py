"""Stopping pending patient messages when their reason goes away.

Its own module, depending on outreach.models only, because the services that
end a message's reason live on both sides of navigator ↔ outreach: closing a
case, moving an appointment, recording a screening (navigator.services), an
opt-out or a death (outreach, patients).
"""

from __future__ import annotations

from collections.abc import Collection

from navigator.models import NavigationCase
from outreach.models import PENDING_MESSAGE_STATES, MessageState, PatientMessage
from patients.models import Patient


def messages_cancel_pending(
    *,
    reason: str,
    case: NavigationCase | None = None,
    patient: Patient | None = None,
    subject_key: str | None = None,
    subject_keys: Collection[str] | None = None,
    channel: str | None = None,
    suppress: bool = False,
) -> int:
    """Stop every pending message about a case, a patient or a subject (an
    appointment), on one channel or all, in the caller's transaction; how many
    were stopped. Replies to the patient's own text (the opt-out confirmation)
    are never stopped.

    `suppress` marks them suppressed (the patient opted out, or died) rather than
    cancelled (their reason went away). `subject_keys` stops several subjects in the
    one UPDATE (a group series' sessions)."""
    if case is None and patient is None and subject_key is None and subject_keys is None:
        raise ValueError("say which messages to stop")
    pending = PatientMessage.objects.filter(state__in=PENDING_MESSAGE_STATES, reply=False)
    if case is not None:
        pending = pending.filter(case=case)
    if patient is not None:
        pending = pending.filter(patient=patient)
    if subject_key is not None:
        pending = pending.filter(subject_key=subject_key)
    if subject_keys is not None:
        pending = pending.filter(subject_key__in=list(subject_keys))
    if channel is not None:
        pending = pending.filter(channel=channel)
    return pending.update(
        state=MessageState.SUPPRESSED if suppress else MessageState.CANCELLED,
        state_reason=reason[:300],
    )
