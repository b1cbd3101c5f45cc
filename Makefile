# The tutorial's commands. Each target sets up what it needs first:
#   make mlp        set up, then train the article's MLP      (the main job)
#   make test       set up the environment, then run the test suite
#   make cnn        set up, then train the article's CNN
#   make gpu-check  set up: ~/.theanorc, then Theano's GPU test
#   make reproduce  set up, then rebuild the results table in results/
# make test-fast runs the linter and the unit tests alone (pytest -m "not slow");
# make test-lasagne and make test-nolearn run Lasagne 0.1's and nolearn 0.6.1's
# own test suites on this stack.
#
# The Python: PYTHON=/path/to/python, else the newest supported one on the
# PATH that runs (a pyenv shim of a version not selected does not).
SUPPORTED := 3.13 3.12 3.11 3.10
ifeq ($(origin PYTHON),undefined)
PYTHON := $(firstword $(foreach v,$(SUPPORTED),$(shell python$(v) -c '' >/dev/null 2>&1 && echo python$(v))))
endif
PYVERSION := $(shell $(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)
VENV   := .venv
PY     := $(VENV)/bin/python
# Theano 1.0.5's build (its versioneer.py) needs names Python 3.12 removed.
INSTALL_SHIM := $(CURDIR)/theano_today/install_shim

.PHONY: setup mlp cnn gpu-check test test-fast test-lasagne test-nolearn lint reproduce clean FORCE

# The stamp holds the Python version the venv was built with: a different
# PYTHON rebuilds it, never reuses it.
ifneq ($(shell cat $(VENV)/.installed 2>/dev/null),$(PYVERSION))
$(VENV)/.installed: FORCE
endif

# A virtual environment with the pinned stack, rebuilt when the pins change.
$(VENV)/.installed: requirements.txt tests/requirements.txt
	@case " $(SUPPORTED) " in *" $(PYVERSION) "*) ;; *) echo "one of Python $(SUPPORTED) needed, found $(if $(PYVERSION),$(PYVERSION) ($(PYTHON)),none): make PYTHON=/path/to/python3.11" >&2; exit 1;; esac
	@built=$$($(PY) -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null); \
	if [ -n "$$built" ] && [ "$$built" != "$(PYVERSION)" ]; then \
	  echo "$(VENV) was built with Python $$built, PYTHON ($(PYTHON)) is $(PYVERSION): rebuilding $(VENV)"; rm -rf $(VENV); fi
	@echo "Installing Theano 1.0.5, Lasagne 0.1, nolearn 0.6.1 and their pinned dependencies into $(VENV) with Python $(PYVERSION) (once; about a minute)"
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -c requirements.txt -c tests/requirements.txt setuptools wheel
	PYTHONPATH=$(INSTALL_SHIM) $(PY) -m pip install --quiet --disable-pip-version-check --no-build-isolation -r requirements.txt -r tests/requirements.txt
	echo $(PYVERSION) > $@

# The article's set-up: the tutorial's .theanorc as ~/.theanorc, and the GPU test.
setup: $(VENV)/.installed
	$(PY) setup_theanorc.py
	$(PY) gpu_check.py

mlp: setup
	$(PY) mlp.py

cnn: setup
	$(PY) ConvolutionNN.py

gpu-check: setup

reproduce: setup
	$(PY) reproduce.py

# The tests bring their own configuration (THEANORC): ~/.theanorc is left alone.
test: lint
	$(PY) -m pytest

test-fast: lint
	$(PY) -m pytest -m "not slow"

# The linter, with the rules of pyproject.toml: in seconds, before the tests.
lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .

# Lasagne 0.1's own test suite, from its sdist, with theano_today imported first.
test-lasagne: $(VENV)/.installed
	tests/lasagne_suite.sh $(PY)

# nolearn 0.6.1's own test suite, from ../shared (NOLEARN_TESTS=DIR elsewhere), likewise.
test-nolearn: $(VENV)/.installed
	tests/nolearn_suite.sh $(PY)

clean:
	rm -rf $(VENV) .pytest_cache
