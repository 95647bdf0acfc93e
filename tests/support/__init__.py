"""Helpers the tests share: plain functions and constants, no fixtures (those are in
tests/conftest.py and tests/fixtures/).

To change...
- where the project, the shared eCQM files and axe-core are: support/paths.py
- how a test skips (or, with REQUIRE_SERVICES=1, fails) without PostgreSQL, Redis,
  Chromium...: support/services.py (`need`, `redis_url`, `redis_reachable`)
- an API client signed in as a user, and API tokens (the one place that makes them):
  support/api.py (`api_as`, `token_authorization`, `revoked_token_authorization`)
- running a script in a fresh interpreter with other settings: support/settings_process.py
- how Chromium is launched and a page's context made: support/browser.py
- real Celery worker processes and their Redis database: support/celery_worker.py
- processes on the embedded default (SQLite file, SQLite broker) in a temporary folder:
  support/embedded.py; what they run: support/embedded_hammer.py (concurrent writes),
  support/embedded_publisher.py, support/embedded_tasks.py and support/embedded_settings.py
  (a worker and beat on the embedded broker)
- FHIR resources and bundles to import, and EHR data already on a patient: support/fhir.py
- the official CMS eCQM test cases imported as a feed, with their expected populations:
  support/ecqm.py (`official_cases_imported`)
- the nightly care-gap run with its batch tasks, and what each was sent and answered:
  support/care_gap_runs.py (`nightly_care_gaps_run`)
- the stand-in for the SMS provider's HTTP API: support/sms_provider.py
- the order in which `make test`'s two processes get the modules (longest first):
  support/scheduling.py
"""
