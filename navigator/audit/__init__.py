"""The audit trail (its own Django app, label `audit`): who read or changed which
patient's data, when and from where, every sign-in event, and the history of every
change to a clinical record; kept for `EQUINAV_AUDIT_RETENTION_DAYS` (six years) and
never rewritten.

Floor 0 (every app's models use it):
- `models.py`: `AccessEvent` (one access) and `AccessedPatient` (each patient it
  touched); append-only on PostgreSQL by trigger.
- `recording.py`: the per-request collector that rows note their patient in as they
  load (`AuditedRead`), `audit_note_patients` for reads without model rows,
  `audit_security_event` for sign-in, token and export events.
- `history.py`: `history_track` (change history without PHI values, written by
  statement-level triggers: one `RowChange` per inserted or updated row, one
  INSERT ... SELECT per statement; which tables are tracked and why the care-gap
  stamp is not), `never_deleted` and `never_rewritten` (database triggers).
- `middleware.py`: `AccessAuditMiddleware` writes one row per signed-in request;
  `ChangeContextMiddleware` names the user and request behind each change.

Above it:
- `selectors.py`: the compliance search's queries; `retention.py`: the purge.
- `views.py`, `forms.py`, `urls.py`, `templates/audit/`: the compliance officer's
  search ("who looked at this patient", "what did this user look at").
- `tasks.py`: the nightly purge; `admin.py`: the trail, read-only.
"""
