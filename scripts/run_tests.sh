#!/usr/bin/env bash
# The suite in two runs against the same services: everything else in parallel, then the
# tests that start real Celery workers, one at a time (two workers on one broker would
# take each other's messages). Arguments go to both runs; a run that selects nothing is
# not a failure.
set -u
python=${TEST_PYTHON:-.venv/bin/python}
run() {
  "$python" -m pytest "$@"
  local rc=$?
  [ "$rc" -eq 5 ] && rc=0
  return "$rc"
}
run -n "${PYTEST_WORKERS:-2}" -m "not real_worker" "$@" || exit $?
run -m real_worker "$@"
