"""The disparities dashboard's core (issue 13): honest statistics and small-cell
suppression, as plain functions that the dashboard's selectors, page, API, CSV and
PDF all call, so each shows the same numbers and hides the same cells.

To change:
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
  reportlab drawing for the PDF: `pdf_charts.py`.
"""
