#!/usr/bin/env bash
# Run every benchmark on SQLite and on PostgreSQL, one after the other (two cores: never in parallel).
#
#   bash bench/run_all.sh                 # all benchmarks, both databases
#   DBS=postgres bash bench/run_all.sh    # one database
#   BENCHES="step_overhead replay" bash bench/run_all.sh
#
# Needs PostgreSQL on 127.0.0.1:5432 (user postgres, trust; override with POLOS_BENCH_PG_URL) and
# Redis on 127.0.0.1:6379 (dbs 13 and 14 are flushed).  Uses /work/venv if present.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${VIRTUAL_ENV:-}" ] && [ -f /work/venv/bin/activate ]; then
  # shellcheck disable=SC1091
  source /work/venv/bin/activate
fi
DBS=${DBS:-"sqlite postgres"}
BENCHES=${BENCHES:-"step_overhead workflow_latency throughput replay"}
status=0
for bench in $BENCHES; do
  for db in $DBS; do
    if ! python -m "bench.$bench" --db "$db"; then
      echo "!! bench.$bench --db $db failed" >&2
      status=1
    fi
    echo
  done
done
# The server benchmarks (bench/README.md, sections 5-7) start their own `polos server start`, each
# on its own database: api_invoke on PostgreSQL, event_latency on SQLite, server_memory on the
# defaults.  Redis db 15 is flushed.  SERVER_BENCHES="" skips them.
SERVER_BENCHES=${SERVER_BENCHES-"api_invoke event_latency server_memory"}
for bench in $SERVER_BENCHES; do
  if ! python -m "bench.$bench"; then
    echo "!! bench.$bench failed" >&2
    status=1
  fi
  echo
done
exit $status
