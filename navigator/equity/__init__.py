"""The disparities dashboard (issue 13): population screening rates and navigation
figures by group, with honest statistics and small-cell suppression, computed once
(`dashboard.equity_dashboard`) for the page, the API, the CSV and the PDF, so each
shows the same numbers and hides the same cells.

To change:
- what may be asked (measure, programme, period, one or two dimensions, reference,
  quarters, race rule) and how a bad parameter is refused: `query.py`; which figures
  exist, by key: `catalog.py`; whose rows a role counts and which dimensions it may
  use: `scope.py`; the default reference group of each dimension: `references.py`;
- how a request is answered (at most three queries: periods, the table, the quarters)
  and the result every output reads (`EquityResult`): `dashboard.py`; counting one or
  two dimensions and a series in one grouped query: `grouping.py`; population rates
  from the stored measure populations (age from each period, race alone or in
  combination, navigated or not): `populations.py`; completion of navigation cases by
  group and quarter of opening: `case_counts.py`;
- a result as text rows (page, CSV, PDF): `tables.py`; as charts: `presentation.py`;
- a rate's interval, the comparison with the reference group (difference, ratio,
  p-value and which test), Holm's adjustment, AHRQ's "meaningful", a group's row
  (`GroupStatistics`, the API's field names) or the one-sentence method texts:
  `stats.py` (`stratified_statistics` puts them together);
- a two-way table (each cell against its row's reference-column cell, Holm across the
  page, margins) or overlapping groups (race "alone or in combination", rates only):
  `two_way.py`;
- direct age adjustment to the 2000 US standard population, its band weights and the
  Fay-Feuer gamma interval: `age_adjustment.py`;
- the gap per quarter for the trend chart and the sentence that tells the story
  (narrowed / widened / no longer significant): `story.py`;
- the one-sentence method texts the page shows, all of them in one dict (stats' own
  and those of two-way tables, race counting, age adjustment, rolling quarters):
  `methods.py`;
- which cells are hidden and why ("<11", complementary suppression, the threshold
  setting `EQUINAV_SMALL_CELL_MAX`): `suppression.py`;
- what a rate is stratified by (race, language, English proficiency, interpreter, sex,
  age band, insurance, clinic, navigator), each group's SQL expression and the one
  grouped query that counts them (`grouped_counts`): `dimensions.py`;
- the pictures (issue 13, item 7): what a chart is made of (`Chart`, `ChartTable`, the
  marks, number formats shared by a chart and its table, labels fitted to a width):
  `chart_marks.py`; where the marks go for a dot-and-whisker, a quarterly trend, the
  gap per quarter and the funnel: `charts.py`; how each mark's CSS class looks (the
  SVG's fallback and the PDF's colours; the page's own rules are in
  `config/static/css/equinav.css`): `chart_styles.py`; a chart as inline SVG with its
  data table (template `navigator/equity/_chart.html`): `svg.py`; the same chart as a
  reportlab drawing for the PDF: `pdf_charts.py`; the board's PDF report: `pdf_report.py`;
- which navigation cases a figure counts (one programme, opened in the period, the
  role's scope, ineligible left out: `Cohort`), how a case's steps are read (correlated
  subqueries, no join fan-out), the completion rule and the one grouped query per
  figure: `cohort.py`;
- the navigation figures, each one query: the funnel, completion within 90/180 days,
  median days between steps and attempts per patient reached, close reasons, per
  navigator outcomes, and their one-sentence rules (`METHODS`): `navigation.py`;
  barriers found/resolved and completion with and without each, and diagnostic
  follow-up within 6 months of an abnormal stool test: `navigation_barriers.py`;
- the navigation outcomes page (`/reports/equity/navigation/`): what is asked
  (`NavigationQuery`, one programme, the period of opening, one dimension) and every
  section as the role may see it (`navigation_page`): `navigation_page.py`; the
  sections' tables, suppressed jointly where tables share groups and denominators
  (`joint_statistics`), and their display rows: `navigation_tables.py`;
  the page's tables as rows of text shared by the page and
  `/reports/equity/navigation.csv` (every table under its title, then the methods):
  `navigation_export.py`;
- navigated versus not among the patients overdue at a quarter's end, screened
  within 180 days, by group (observational): `navigated.py`;
- `GET /api/reports/completion/` computed from the navigation figures, per
  programme: `completion_report.py`;
- a control programme's dashboard (issue 16, item 5; `/reports/equity/control/`):
  its population (the care gap's control statuses), enrolment, coaching, group and
  individual attendance, education hours against Medicare's DSMT allowance, tested
  this year and CMS122's numerator (lower is better), by group in one grouped query,
  with their one-sentence rules: `control_figures.py`; the change in HbA1c after
  coaching (laboratory HbA1c only; baseline in the 12 months before the first session,
  follow-up 3 months on, paired t interval, Welch against the reference, small groups
  hidden): `control_change.py`;
  what is asked (`ControlQuery`) and every section as the role may see it,
  suppressed (`control_page`): `control_page.py`; its tables as text for the page
  and `/reports/equity/control.csv`: `control_export.py`;
- days between two moments, the median (and SQLite's `equinav_median`, registered by
  `navigator.apps`), months later: `sql.py`;
- how complete the race, ethnicity and language data are per clinic and month
  (`data_quality`), the dashboard's completeness warning and its setting
  `EQUINAV_DEMOGRAPHIC_COMPLETENESS_MIN` (`completeness_columns`,
  `completeness_warning`): `quality.py`; its table as text for the page and
  `/reports/equity/quality.csv` (a row per clinic, month and field): `quality_export.py`.
"""
