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
- which navigation cases a figure counts (one programme, opened in the period, the
  role's scope, ineligible left out: `Cohort`), how a case's steps are read (correlated
  subqueries, no join fan-out), the completion rule and the one grouped query per
  figure: `cohort.py`;
- the navigation figures, each one query: the funnel, completion within 90/180 days,
  median days between steps and attempts per patient reached, close reasons, per
  navigator outcomes, and their one-sentence rules (`METHODS`): `navigation.py`;
  barriers found/resolved and completion with and without each, and diagnostic
  follow-up within 6 months of an abnormal stool test: `navigation_barriers.py`;
- days between two moments, the median (and SQLite's `equinav_median`, registered by
  `navigator.apps`), months later: `sql.py`.
"""
