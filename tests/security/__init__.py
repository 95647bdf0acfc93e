"""Least privilege, proven (issue 14, item 4).

- `permission_matrix.py`: the single source of truth: what each role gets on every
  (route, method), on its own objects and others'; change it when a route changes.
- `matrix_format.py`: how a rule is written and read, and the tables it generates in
  docs/security.md (`python -m tests.security.matrix_format` rewrites them).
- `world.py`: the clinics, users and objects the matrix is walked in, and every route
  of the URL resolver.
- `watched.py`: the tables a refused write must leave as they were, and the snapshot
  (one plain SELECT a table) that checks it; `test_watched.py` holds it to the ORM's.
- `test_route_matrix.py`: every route as every role and owner (and the leak probe);
  no route may be missing from the matrix; the doc must equal the matrix.
"""
