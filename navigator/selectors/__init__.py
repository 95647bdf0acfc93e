"""Reads for navigation: every query a page, an API view or a service asks, and
nothing that writes. What a user may see starts from `visibility.py`; the
managers' team view reads every case (only managers open it); the equity figures
and the completion report's API are in `navigator.equity`.

To change:
- who may see which cases, barriers, appointments, events, navigators and covers:
  `visibility.py` (the scoping rules, in one place); coaching's sessions, goals,
  series and rosters, the next group series with room in a patient's language, and
  the DSMT education hours: `coaching.py` (its scoping builds on `visibility.py`);
- the case list, the case page's case with its timeline, or "what does this case's
  result still call for" (its open follow-up): `cases.py`;
- the managers' list of results to follow up (overdue first, counts on top):
  `follow_ups.py`;
- whose cases make up a worklist, and the worklist's query, rows and tasks:
  `worklist.py` (the ranking rules themselves are `navigator.worklist`);
- what a referring clinic sees of its referrals (the loop closing in plain words,
  the list's search, filters and "changed since you last looked" marks, the digest's
  referral numbers): `referrals.py`;
- a control programme's case: the patient's HbA1c/GMI readings for its trend
  (scoped like the case page, read as the care-gap engine reads them): `labs.py`;
- the team view's weekly numbers, and the order a rebalance hands cases on: `team.py`;
- a user's own live API tokens: `api_tokens.py`.
"""
