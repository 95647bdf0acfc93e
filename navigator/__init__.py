"""Navigation: the cases navigators work, from assignment to a recorded screening.

To change:
- the case's data (cases, barriers, appointments, kits, events, covers, rebalances):
  `models/__init__.py`; coaching's (individual sessions and their ADCES7 goals, group
  class series, their sessions, rosters and attendance): `models/coaching.py`;
- which status moves are allowed, locking a case, refusing a stale form, or writing
  the timeline: `cases.py` (the case kernel: every write on a case goes through it);
- a write on a case or a navigator (assigning, rebalancing, follow-up, notes,
  barriers, appointments, kits and screenings, covering, coaching sessions and goals,
  group classes, a control case's lab from an outside report and its correction or
  withdrawal as entered in error: `labs.py`): `services/`,
  one module per entity or workflow;
- who should work a case, and why (language, coach or navigator, continuity, clinic,
  capacity): `assignment_rules.py`; which roles work a caseload (navigator and
  coach, `CASEWORK_ROLES`): `models/__init__.py`;
- a read (who may see what, the case list and page, the worklist's query, the
  completion report, the team view; coaching's scope, the next group series with room
  and the DSMT education hours): `selectors/`;
- how the worklist ranks cases and why each row is there, its filters, search and
  sort orders: `worklist/`;
- a page: `views/` (one module per page group; group classes: `views/group_classes.py`;
  a control case's lab trend chart: `views/lab_chart.py`, its coaching, hours, group
  enrolment and lab panels: `views/control_case.py`, their actions: `views/coaching.py`)
  with `urls.py`; its forms: `forms/`
  (`forms/base.py` is the base form most forms of every app build on); its templates:
  `templates/navigator/`;
- a patient's right of access (everything held on them, as a FHIR Bundle and a PDF,
  for managers): `right_of_access/`;
- the JSON API: `api/`; roles and who may open what: `permissions.py`;
- the admin: `admin.py`; the demo data: `management/commands/seed_demo.py`; an
  operator setting a password: `management/commands/set_user_password.py`;
- sign-in's security events (log line and audit row, fed by the auth signals):
  `security_events.py`; API tokens, passwords and two-factor: `services/api_tokens.py`,
  `services/passwords.py`, `services/two_factor.py`, their endpoints `api/tokens.py`
  and pages `views/account.py`.
"""
