"""The disparities dashboard's core (issue 13): honest statistics and small-cell
suppression, as plain functions that the dashboard's selectors, page, API, CSV and
PDF all call, so each shows the same numbers and hides the same cells.

To change:
- a rate's interval, the comparison with the reference group (difference, ratio,
  p-value and which test), Holm's adjustment, AHRQ's "meaningful", a group's row
  (`GroupStatistics`, the API's field names) or the one-sentence method texts:
  `stats.py` (`stratified_statistics` puts them together);
- which cells are hidden and why ("<11", complementary suppression, the threshold
  setting `EQUINAV_SMALL_CELL_MAX`): `suppression.py`;
- what a rate is stratified by (race, language, English proficiency, interpreter, sex,
  age band, insurance, clinic, navigator), each group's SQL expression and the one
  grouped query that counts them (`grouped_counts`): `dimensions.py`;
- how complete the race, ethnicity and language data are per clinic and month
  (`data_quality`), the dashboard's completeness warning and its setting
  `EQUINAV_DEMOGRAPHIC_COMPLETENESS_MIN` (`completeness_columns`,
  `completeness_warning`): `quality.py`.
"""
