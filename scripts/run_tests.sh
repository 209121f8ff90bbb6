#!/usr/bin/env bash
# The suite in two runs against the same services: everything else in parallel, then the
# tests that start real Celery workers, one at a time (two workers on one broker would
# take each other's messages). Arguments go to both runs; a run that selects nothing is
# not a failure.
set -u
python=${TEST_PYTHON:-.venv/bin/python}
# The hardening tests count what they tried (tests/hardening/figures.py): start afresh,
# print the figures at the end.
export HARDENING_FIGURES_DIR=${HARDENING_FIGURES_DIR:-var/hardening}
rm -rf "$HARDENING_FIGURES_DIR"
run() {
  "$python" -m pytest "$@"
  local rc=$?
  [ "$rc" -eq 5 ] && rc=0
  return "$rc"
}
run -n "${PYTEST_WORKERS:-2}" -m "not real_worker" "$@" || exit $?
run -m real_worker "$@" || exit $?
"$python" scripts/hardening_report.py --dir "$HARDENING_FIGURES_DIR"
