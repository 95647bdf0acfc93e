"""Outreach: reaching patients and keeping navigators on track. To change…

- a contact attempt and what follows it (next follow-up, bad numbers, who interpreted),
  interpreter requests, closing a
  case as unreachable, a program's outreach protocol, follow-up reminders,
  navigator tasks and escalations, reminder and task rules: `outreach.services`
  (its `__init__` is the map);
- patient texts and emails (composing, quiet hours and caps, scheduling, sending,
  the sweep, stopping, managers' retry/cancel, inbound texts and delivery
  callbacks, SMS backends): `outreach.messaging`;
- printed letters (a case's letter as a PDF, the mail room's daily batch):
  `outreach.letters`;
- what staff-facing text calls a programme's work ("colorectal cancer screening",
  "diabetes control"): `outreach.wording`;
- a program's call guides (what navigators say on a first, prep, abnormal result or
  reminder call, per language, versioned): writes `outreach.services.call_guides`;
  which guide a case is at (`call_guide_for`) `outreach.selectors`; managers' pages
  `outreach.call_guide_views`; the case page's panel `outreach.templatetags.outreach_tags`;
- a read (what a user may see, managers' lists, histories, language access):
  `outreach.selectors`;
- a background job (follow-up reminders, the sending sweep, task scans, recalls):
  `outreach.tasks` (Celery; each task takes ids and calls one service);
- a page: `outreach.views` (unreachable decisions, letters, protocols),
  `outreach.manager_views` (messages, rules, language access), `outreach.letter_batch_views` (mail
  room), the unreachable panel `outreach.templatetags.outreach_tags`; the API and
  the SMS provider's webhooks: `outreach.api`;
- forms: `outreach.forms`; the Django admin: `outreach.admin`; tables:
  `outreach.models`.
"""
