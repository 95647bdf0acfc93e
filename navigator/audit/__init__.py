"""The audit trail (its own Django app, label `audit`): who read or changed which
patient's data, when and from where, and every sign-in event; kept for
`EQUINAV_AUDIT_RETENTION_DAYS` and never rewritten.

- `models.py`: `AccessEvent` (one access) and `AccessedPatient` (each patient it
  touched); append-only on PostgreSQL by trigger.
- `recording.py`: the per-request collector that rows note their patient in as they
  load, `audit_note_patients` for reads without model rows, `audit_security_event`
  for sign-in, token and export events.
- `middleware.py`: `AccessAuditMiddleware` writes one row per signed-in request.
"""
