"""Server-rendered pages for navigators and managers, one module per page group.

Each page reads through the scoping selectors and each form calls one service.
Action forms post with HTMX and get back the case's dynamic section; without
JavaScript the same forms post normally and redirect back to the case.

To change:
- the navigator's worklist, or the manager's list of all cases: `lists.py`;
- what a control programme's case page adds (coaching sessions and goals, education
  hours against the DSMT allowance, group enrolments, "enrol in the next series",
  the lab form): `control_case.py`; its actions (book, record, goals, enrol, record
  a lab from an outside report): `coaching.py`;
- what the case page shows (its panels, timeline, which forms appear, what a
  one-click attempt assumes) and how a case action answers: `case_page.py`;
- one of the case page's actions (attempt, note, barrier, appointment, kit,
  screening, status, follow-up, assignment, task done): `case_actions.py`;
- the safety net around an unresolved result (propose closing, a manager confirms
  or keeps it open) and the managers' "Results to follow up": `follow_ups.py`;
- the equity dashboard, its CSV and PDF, the navigation outcomes page
  (`/reports/equity/navigation/`) and the data-quality page, each with its CSV:
  `equity.py`; the old completion report's address,
  now a redirect to the navigation page: `reports.py`; a control programme's
  dashboard (diabetes: enrolment, attendance, hours, tested, CMS122, the change in
  HbA1c after coaching, by group) and its CSV: `control_dashboard.py`;
- the team view, rebalancing and covering: `team.py`;
- group classes (the series list, a manager's new series and sessions, a series'
  roster and enrolment, attendance per session over HTMX with make-ups, the printable
  roster): `group_classes.py`; a control case's worklist row enrolling the patient in
  the next series in their language with room: `worklist_enrol.py`;
- a patient's right-of-access downloads (FHIR and PDF, managers only, from the
  patient page): `right_of_access.py`;
- the user's own security pages (two-factor enrolment and code, "Your API tokens"):
  `account.py`.

The URLs are in `navigator/urls.py`; outreach's case actions (navigator.views is
their model) draw the same case page through `case_page`.
"""
