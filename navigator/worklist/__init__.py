"""The worklist: which of a navigator's open cases to work first, and why.

Each rule is one *fact* the database works out for every case in the query that
lists them: the date the rule is about when the rule applies, NULL when it does
not. From the facts the query derives a flag per rule and the case's priority
(its most urgent rule), and sorts by priority and then by the fact, earliest
first. So a caseload of any size is ranked in one query, and every row can say
why it is there without another one. A case tried today without reaching the
patient (`rules.tried_today`) keeps its reasons but sorts below every case not
yet tried today, in the same query, so that pages stay right.

To change:
- a ranking rule, its priority or the words a row says for it: `rules.py`
  (`RULES`, the order of them all; the screening and contact rules and "tried
  today"), a control programme's rules (a coaching session missed, the HbA1c/GMI
  overdue or above target): `control_rules.py`; what a rule is, and `Moment`, the
  one clock the rules read: `rule_base.py`;
- what the query annotates besides the rules, or the sort orders: `query.py`;
- the filters and the one search box (name, MRN, phone, date of birth): `filters.py`;
- what each row carries once fetched (reasons, summary, "covering for", the
  "tried today" mark, the number to call): `rows.py`; the page's rows as HTML,
  written in Python (the same as the template `navigator/_worklist_row.html`):
  `row_html.py` (its `Writer` writes one page's values: the language and time zone
  read once, repeated dates and numbers kept); the reminders and tasks beside the
  rows, likewise (the same as `navigator/_worklist_asides.html`): `asides_html.py`;
  the page's filter form, drawn once per process for each state of what it shows
  (its menus' rows, values, language...): `filter_html.py`;
- how the page and the API run the query (compiled once per shape and process,
  prepared on PostgreSQL, "now" bound per request): `compiled.py`; its side reads
  (whose cases, counts, menus, reminders, tasks) kept as SQL: `replayed.py`; both
  run as prepared statements on PostgreSQL: `prepared.py`;
- the statement they run: every case ranked on its facts worked out once each, then
  what a row shows for the page's cases only (SQL composed around the ORM's): `paged.py`;
  on PostgreSQL the facts that read the same rows (a case's contact attempts, a control
  case's care gap) read them once, joined LATERAL: `laterals.py`.

`navigator.selectors.worklist.worklist_for` puts them together (`worklist_cases`, as
the page and the API read it)
(`worklist_calls_today` counts the day's calls due and done); the form that
reads the filters from a request is `navigator.forms.lists.WorklistFilterForm`.
"""
