"""Project configuration: the shared base every app builds on.

To change:
- a setting (every one read from the environment; production has no default
  secret): `settings.py`; the test suite's overrides: `settings_test.py`;
- the URL map: `urls.py` (each app's `urls.py` and `api/urls.py` below it);
  the page that sends each role to its own start, the API docs page (sign-in
  required outside DEBUG, as for the schema: `api.SignedInOutsideDebug`), and the
  400 and 404 that Django answers before any view (JSON under /api/): `views.py`;
- the embedded default (no DATABASE_URL, no REDIS_URL): SQLite's options and the
  SQLite broker's connections, and why: `embedded.py` (used by settings); the
  options every PostgreSQL connection starts with (JIT off), and why:
  `postgres_options.py`;
- the Celery app: `celery.py`; what beat enqueues and when: `celery_beat.py`;
  handing work to a task after the transaction commits: `enqueue.py` (services
  name a task; they never import a task module); which queue each task goes to
  (messaging, caregaps, imports, reports, celery): `celery_queues.py`;
- past one machine (docs/deploy.md): the read replica the report views read from
  (`reads_from_replica`, DATABASE_REPLICA_URL): `db_router.py`; the load balancer's
  and orchestrator's probes (`/healthz`, `/healthz/ready`): `health.py`;
- many new rows at once, by COPY on PostgreSQL (`bulk_create`'s result; the bulk
  referral import's patients, cases, referrals and events): `bulk_copy.py`; a
  batch's "one of these values" lookup as one array parameter on PostgreSQL
  (the FHIR bulk import's, the care-gap facts'): `any_of.py`; Python's cyclic
  garbage collector paused around such a batch (the FHIR bulk import's chunks, a
  care-gap recompute): `collector.py`;
- headers on every response (no-store on anything that may carry PHI), and an API
  view's page and response freed once its answer is sent: `middleware.py`; the
  Content Security Policy and Permissions-Policy: settings;
  the API docs page, without inline script or style: `templates/api/swagger_ui.html`;
- the API's shared base (pagination, error shape, role permissions): `api.py`;
  its token check (knox's, one query: no sweep of the caller's other tokens):
  `api_auth.py`;
  the error responses its schema documents for every operation: `api_schema.py`;
  the admin's (read-only case records, patient searches posted rather than in the
  address): `admin.py`, with `templates/admin/search_form.html`;
- the client's address behind our proxies (audit trail, lockouts): `client_address.py`;
- the request id (X-Request-ID, on every log line and the tasks a request sends):
  `request_id.py`; how log lines look and what they may carry (JSON, no query
  strings, no exception messages): `log_format.py`, wired in settings' LOGGING;
  gunicorn's port, workers and access-log format: `gunicorn_conf.py`;
- sign-in (docs/security.md "Sign-in and sessions"): the lockout's answer
  (`signin.py`), the idle and absolute session limits (`session_timeout.py`, with
  the warning dialog's `static/js/session-timeout.js` and the values it reads,
  `context_processors.py`), two-factor for privileged users (`two_factor.py`).

The Celery app is imported here so that `celery -A config` and Django share it.
"""

from .celery import app as celery_app

__all__ = ("celery_app",)
