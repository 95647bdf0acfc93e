"""Bulk referrals from a clinic's CSV file.

To change:
- the columns, the guide line or the example of the downloadable template: `template.py`;
- how a file and its rows are read and checked (sizes, encodings, headers, each column's
  rules, duplicate keys): `parse.py` (`referral_upload_parse`, `UploadRejected`);
- how the checked rows are stored for the job, so that it reads no file again:
  `checked_rows.py`;
- how the checked rows become referrals and cases (the job, modes, duplicates, counts,
  logs): `navigator.intake.referral_import`, above the case kernel.
"""
