#!/bin/sh
# The image's entry point: its first argument selects the role.
#   web                      gunicorn (config/gunicorn.py) on $BIND_ADDRESS:$PORT
#   worker                   a Celery worker for $WORKER_QUEUES with $WORKER_CONCURRENCY
#   beat                     the Celery beat scheduler (run exactly one)
#   migrate                  apply the migrations, then exit (before rolling out web/worker)
#   manage <args>            any manage.py command
#   healthcheck              the HEALTHCHECK of the role this container runs
# Anything else is executed as given.
set -eu
ROLE_FILE=/tmp/media-platform-role

fresh_metrics_dir() {
  # Each process writes its samples here; files of an earlier run would be summed too.
  rm -rf "${PROMETHEUS_MULTIPROC_DIR:?}" && mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
}

first_host() {
  # The Host header for probes from inside the container: the first ALLOWED_HOSTS entry.
  host="${ALLOWED_HOSTS%%,*}"
  host="${host#.}"
  [ "$host" = "*" ] && host=localhost
  echo "$host"
}

case "${1:-web}" in
  web)
    shift || true
    echo web > "$ROLE_FILE"
    fresh_metrics_dir
    exec gunicorn -c config/gunicorn.py config.wsgi "$@"
    ;;
  worker)
    shift
    echo worker > "$ROLE_FILE"
    fresh_metrics_dir
    queues="${WORKER_QUEUES:-default,media,scan,embeddings}"
    exec celery -A config worker -Q "$queues" -n "$(echo "$queues" | tr ',' '-')@%h" \
      --concurrency "${WORKER_CONCURRENCY:-2}" --loglevel "${LOG_LEVEL:-INFO}" "$@"
    ;;
  beat)
    shift
    echo beat > "$ROLE_FILE"
    exec celery -A config beat --loglevel "${LOG_LEVEL:-INFO}" \
      --schedule /tmp/celerybeat-schedule "$@"
    ;;
  migrate)
    shift
    exec python manage.py migrate --no-input "$@"
    ;;
  manage)
    shift
    exec python manage.py "$@"
    ;;
  healthcheck)
    case "$(cat "$ROLE_FILE" 2>/dev/null || echo none)" in
      web)
        exec python - "$PORT" "$(first_host)" <<'PY'
import sys, urllib.request
port, host = sys.argv[1], sys.argv[2]
request = urllib.request.Request(f"http://127.0.0.1:{port}/healthz", headers={"Host": host})
with urllib.request.urlopen(request, timeout=4) as response:  # 503 raises: unhealthy
    sys.exit(0 if response.status == 200 else 1)
PY
        ;;
      worker)
        exec celery -A config inspect ping --timeout 4 \
          -d "$(echo "${WORKER_QUEUES:-default,media,scan,embeddings}" | tr ',' '-')@$(hostname)" >/dev/null
        ;;
      *) exit 0 ;;  # beat and one-off roles: nothing to probe
    esac
    ;;
  *)
    exec "$@"
    ;;
esac
