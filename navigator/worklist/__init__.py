"""The worklist: which of a navigator's open cases to work first, and why.

Each rule is one *fact* the database works out for every case in the query that
lists them: the date the rule is about when the rule applies, NULL when it does
not. From the facts the query derives a flag per rule and the case's priority
(its most urgent rule), and sorts by priority and then by the fact, earliest
first. So a caseload of any size is ranked in one query, and every row can say
why it is there without another one.

To change:
- a ranking rule, its priority or the words a row says for it: `rules.py`
  (`RULES`; also `Moment`, the one clock the rules read);
- what the query annotates besides the rules, or the sort orders: `query.py`;
- the filters and the one search box (name, MRN, phone, date of birth): `filters.py`;
- what each row carries once fetched (reasons, summary, "covering for"): `rows.py`.

`navigator.selectors.worklist.worklist_for` puts them together; the form that
reads the filters from a request is `navigator.forms.lists.WorklistFilterForm`.
"""
