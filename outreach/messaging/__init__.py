"""Patient messages: texts, emails (and the letters the daily batch prints, see
`outreach.letters.batches`). To change…

- a message's text (templates, placeholders, no clinical words): `compose`;
- when a message may arrive (quiet hours, daily/weekly caps, local times): `quiet_hours`;
- scheduling one message (recipient, suppression, asking a navigator to call): `schedule`;
- the rules' reminders (before an appointment, after a kit, recalls): `patient_reminders`;
- sending one message, or a batch of them one by one (last-moment checks, SMS or
  email, retries, backoff): `send`;
- claiming due messages and handing them to workers: `sweep`;
- stopping pending messages when their reason goes away: `stops`;
- a manager retrying or cancelling a message: `manager_actions`;
- texts from patients (STOP, START, HELP, a message) and delivery callbacks:
  `inbound`, with the keywords in `sms_keywords`;
- how texts reach a provider (console, file, Twilio; webhook signatures):
  `sms_backends` (`settings.EQUINAV_SMS_BACKEND` names a class there).
"""
