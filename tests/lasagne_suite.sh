#!/usr/bin/env bash
# Lasagne 0.1's own test suite, run with theano_today imported first: the
# check that other 2015 Lasagne code runs on today's stack, not only ours.
# Its sdist is fetched from PyPI (hash-checked) into build/, never kept in
# the repository.
#   usage: tests/lasagne_suite.sh [PYTHON]      (default: .venv/bin/python)
set -euo pipefail
cd "$(dirname "$0")/.."
REPO="$PWD"
PY="${1:-.venv/bin/python}"
case "$PY" in */*) [ "${PY#/}" != "$PY" ] || PY="$REPO/$PY" ;; esac  # a path: made absolute
SDIST=build/sdist/Lasagne-0.1.tar.gz

if [ ! -f "$SDIST" ]; then
  mkdir -p build/sdist
  "$PY" -m pip download --quiet --disable-pip-version-check --no-deps --no-binary :all: \
      --require-hashes -r tests/lasagne-sdist.txt -d build/sdist
fi
rm -rf build/Lasagne-0.1
tar xzf "$SDIST" -C build

# Left out by name: the one test that lasagne.layers.dnn refuses to import
# without a GPU and cuDNN; theano_today makes it importable everywhere
# (theano_today/dnn_layers.py), and the suite's other dnn tests run on it.
# Its setup.cfg asks for coverage and pep8 plug-ins: -c /dev/null drops it.
cd build/Lasagne-0.1
PYTHONPATH="$REPO" THEANORC="$REPO/.theanorc" exec "$PY" -m pytest \
    -p theano_today -c /dev/null -o addopts= --rootdir . --confcutdir lasagne/tests \
    -p no:cacheprovider -q -rs -W ignore::DeprecationWarning -W ignore::UserWarning \
    --deselect lasagne/tests/layers/test_conv.py::TestConv2DDNNLayer::test_import_without_gpu_or_cudnn_raises \
    lasagne/tests
