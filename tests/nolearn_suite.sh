#!/usr/bin/env bash
# nolearn 0.6.1's own test suite, run with theano_today imported first: the
# check that nolearn's own expectations hold on today's stack. Its files are
# in ../shared/nolearn-0.6.1-tests (from nolearn's git tag 0.6.1; or set
# NOLEARN_TESTS), run from there, never copied into the repository; the data
# sets it loads come from tests/nolearn_data.py.
#   usage: tests/nolearn_suite.sh [PYTHON]      (default: .venv/bin/python)
set -euo pipefail
cd "$(dirname "$0")/.."
REPO="$PWD"
PY="${1:-.venv/bin/python}"
case "$PY" in */*) [ "${PY#/}" != "$PY" ] || PY="$REPO/$PY" ;; esac  # a path: made absolute
SUITE="${NOLEARN_TESTS:-$REPO/../shared/nolearn-0.6.1-tests}"
if [ ! -f "$SUITE/test_base.py" ]; then
  echo "nolearn's test suite is not at $SUITE: set NOLEARN_TESTS to its folder" >&2
  exit 1
fi

# The suite's folder may be read-only: no bytecode, no cache written there.
cd "$SUITE"
PYTHONPATH="$REPO:$REPO/tests" PYTHONDONTWRITEBYTECODE=1 THEANORC="$REPO/.theanorc" exec "$PY" -m pytest \
    -p theano_today -p nolearn_data -c /dev/null -o addopts= --rootdir . \
    -p no:cacheprovider -q -rs -W ignore::DeprecationWarning -W ignore::UserWarning .
