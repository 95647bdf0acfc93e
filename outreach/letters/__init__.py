"""Printed patient letters. To change…

- a case's outreach letter (template, letterhead, program phone, dates, the PDF):
  `case_letter`;
- a case's letter marked printed or mailed on its timeline (an explicit action: viewing
  the PDF records nothing): `printed` (`letter_mark`);
- the mail room's daily batch (printing, window-envelope PDF): `batches`.
"""
