#!/bin/bash
# The read replica's start: on an empty volume, a base backup of the primary
# (-R writes standby.signal and primary_conninfo, so PostgreSQL starts as a hot
# standby streaming from it); then the image's own entrypoint, which finds the data
# directory initialised and starts the server. Runs as the postgres user.
set -euo pipefail
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  export PGPASSWORD="$REPLICATION_PASSWORD"
  until pg_basebackup --host="$PRIMARY_HOST" --username=replicator --pgdata="$PGDATA" \
      --wal-method=stream --write-recovery-conf --checkpoint=fast; do
    echo "replica: waiting for the primary to accept a base backup"
    rm -rf "${PGDATA:?}"/*
    sleep 2
  done
  chmod 0700 "$PGDATA"
fi
exec docker-entrypoint.sh "$@"
