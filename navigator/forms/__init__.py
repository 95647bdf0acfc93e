"""Forms for the navigator pages. They check input; the services decide.

Each form's field names are the keys its service uses in a ValidationError, so
a refusal from the service lands next to the field it is about
(`EquiNavForm.add_service_error`).

To change:
- the base form most EquiNav forms build on (`EquiNavForm`, and `CaseForm`, which
  carries the case version), the date widgets or the navigator menu
  (`NavigatorChoiceField`): `base.py`;
- a form on the case page (attempt, note, barrier, appointment, kit, screening,
  status, follow-up, assignment, task): `case_actions.py`;
- the worklist's filters and search, or the manager's case list filters: `lists.py`;
- the equity dashboard's menus (`EquityForm`) and the navigation outcomes page's
  (`NavigationForm`): `equity.py`;
- rebalancing and covering: `team.py`;
- a control case's coaching (booking a session, its outcome, a goal and its review),
  "enrol in the next series" and a lab from an outside report: `coaching.py`;
- group classes (a new series, a session, enrolling, ending an enrolment,
  attendance and make-ups): `group_classes.py`;
- the two-factor code, and the admin's password form (through the password
  service): `account.py`.
"""
