"""Outreach writes (apart from patient messages, `outreach.messaging`, and letters,
`outreach.letters`). To change…

- logging a contact attempt, and the follow-up, channel and bad number it sets, and
  who interpreted it: `attempts` (`attempt_log`);
- requesting an interpreter for a call or an appointment, and moving the request on
  (requested → confirmed → done, or cancelled): `interpreters`;
- what a program's protocol proposes after an attempt (pure, no database):
  `protocol_next_step` (`next_step`);
- editing a program's protocol: `protocols` (`protocol_update`);
- proposing, confirming or dismissing closing a case as unreachable: `unreachable`;
- navigators' follow-up reminders (made, emailed, dismissed): `follow_up_reminders`;
- navigator tasks and manager escalations (opened, done, the rules' scans):
  `navigator_tasks` (not Celery: those are `outreach.tasks`);
- programs' reminder rules and task rules: `rules`;
- programs' call guides, each change a `CallGuideVersion`: `call_guides`.

Who counts as a manager for these decisions: `navigator.permissions.ensure_manager`.
"""
