"""The navigation REST API (`/api/cases/`, `/api/worklist/`, `/api/navigators/`,
`/api/team/`, `/api/barrier-types/`, `/api/reports/completion/`).

To change:
- an endpoint, its filters or the case actions (`/api/cases/<id>/<action>/`):
  `views.py`, routed in `urls.py`; each action validates and calls one service;
- what a case or navigator looks like in JSON, and the inputs of the case actions:
  `serializers.py`; a worklist row, its search body and page: `worklist_serializers.py`;
- the coaching API (`/api/coaching-sessions/`, `/api/coaching-goals/`,
  `/api/group-series/`, `/api/group-enrolments/`, `/api/group-sessions/<id>/attendance/`):
  `coaching.py` (a booking sent again: 409 naming the session booked), its JSON and
  inputs `coaching_serializers.py`;
- the equity API (`/api/equity/`): `equity.py`;
- a patient's right-of-access export (`POST /api/patients/<id>/right-of-access/{fhir,pdf}/`,
  managers only): `right_of_access.py`; `/api/reports/completion/` is
  computed by `navigator.equity.completion_report`;
- API tokens (`/api/auth/token/` to issue one, `/api/auth/tokens/` to list and
  revoke your own): `tokens.py`, routed in `config/urls.py`.
Who sees which case is `navigator.selectors.visibility`, never the view.
"""
