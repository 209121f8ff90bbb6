#!/usr/bin/env bash
# `make run`: the platform with its embedded defaults, all of it in one terminal.
# Prepares the database and a demo admin, then runs web + worker + beat (Procfile) with
# honcho. Ctrl-C stops every process, and the embedded PostgreSQL with them.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
export PORT="${PORT:-8000}"
# glibc: a fixed mmap threshold gives large upload buffers back to the OS when freed, and
# few arenas keep threads (boto3 uploads, gunicorn threads) from hoarding freed memory.
export MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX:-2}" MALLOC_MMAP_THRESHOLD_="${MALLOC_MMAP_THRESHOLD_:-4194304}" \
  MALLOC_TRIM_THRESHOLD_="${MALLOC_TRIM_THRESHOLD_:-16777216}"

# Every web and worker process writes its metrics here; /metrics sums them. Stale files
# of an earlier run would be summed too, so each run starts with an empty folder.
export PROMETHEUS_MULTIPROC_DIR="${PROMETHEUS_MULTIPROC_DIR:-$PWD/var/prometheus}"
rm -rf "$PROMETHEUS_MULTIPROC_DIR" && mkdir -p "$PROMETHEUS_MULTIPROC_DIR"

stop_embedded_db() {
  if [ -z "${DATABASE_URL:-}" ]; then
    python -m config.embedded_postgres stop >/dev/null 2>&1 || true
  fi
}
trap stop_embedded_db EXIT
trap 'true' INT TERM  # let honcho shut its children down, then fall through to EXIT

python manage.py migrate --no-input
python manage.py collectstatic --no-input -v 0
python manage.py ensure_demo_admin
echo "Serving http://127.0.0.1:${PORT}  (API docs: /api/docs/, admin: /admin/, health: /healthz, metrics: /metrics)"
# honcho gives web $PORT; worker and beat get other ports they do not use.
honcho start --procfile Procfile --port "$PORT" || true
