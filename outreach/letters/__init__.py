"""Printed patient letters. To change…

- a case's outreach letter (template, letterhead, program phone, dates, the PDF):
  `case_letter`;
- a printed letter on the case's timeline: `printed` (`letter_record_printed`);
- the mail room's daily batch (printing, window-envelope PDF): `batches`.
"""
