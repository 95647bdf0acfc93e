"""What the audit trail adds to the queries of a signed-in request
(navigator.audit.recording.access_event_record), for tests that count queries."""

from django.db import connection

# A request that touched patients. PostgreSQL: one statement writes the access and
# its patients. Elsewhere: SAVEPOINT, INSERT the access, INSERT its patients, RELEASE
# SAVEPOINT (in a test the request runs inside the test's transaction).
AUDIT_QUERIES = 1 if connection.vendor == "postgresql" else 4
# A request that touched no patient: INSERT the access.
AUDIT_QUERIES_NO_PATIENTS = 1
