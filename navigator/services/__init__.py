"""Writes on navigation cases, one module per entity or workflow. Every status
change goes through `navigator.cases.case_transition`, and every write locks the
case and records its timeline entry through the case kernel (navigator.cases).

To change:
- how a navigator is chosen and a case given to them, or a manager moving cases
  between navigators (rebalancing): `assignment.py` (the chooser's rules are
  `navigator.assignment_rules`);
- opening a case for a patient and program: `case_opening.py` (one at a time, or many
  at once in a fixed number of queries: the referral import's new patients, the
  care-gap refresh's newly overdue ones);
- the next follow-up date: `follow_up.py`; a note on the timeline: `notes.py`;
- barriers (adding one, moving it on to resolved): `barriers.py`;
- booking an appointment or recording what became of it: `appointments.py`;
- an individual coaching session (booked with its reminders and, where needed, its
  interpreter, the same booking sent again refused under the case's lock; attended with
  its minutes, missed, cancelled) and the goals set and reviewed in sessions:
  `coaching.py`; group class series, their sessions, enrolment (capacity under the
  series' lock), its end (withdrawn, completed; a closed case's patient withdrawn only)
  and attendance with make-ups: `group_classes.py`;
  a control case's patient enrolled in the next series in a language with room (the
  worklist's "enrol in the next Spanish-language series"): `group_placement.py`;
- a control case's lab (HbA1c, GMI) copied from an outside report, with the care gaps
  recomputed, and its correction or withdrawal as entered in error (each its own kind of
  timeline entry): `labs.py` (its Observation: `patients.services.labs`);
- a home test kit mailed, or a test recorded in its result category (which completes
  the case, opens the follow-up its pathway calls for, or hands a diagnosis to
  treatment): `screenings.py`;
- the follow-up a result calls for, and the safety net (closing with it unresolved
  needs a listed reason and a manager's confirmation): `follow_ups.py`;
- a colleague covering a navigator's caseload: `coverage.py`;
- the clinics' daily e-mail of changed referral numbers, and its opt-in:
  `referral_digest.py`;
- a user's API tokens (issue, revoke one or all): `api_tokens.py`; setting a password
  (which revokes the tokens): `passwords.py`; enrolling and checking a TOTP device:
  `two_factor.py`.

Two records of one patient merged into one is orchestration: `navigator.intake`.

Reads (what a diagnostic follow-up calls for, the order a rebalance moves cases
in) are in `navigator.selectors`.
"""
