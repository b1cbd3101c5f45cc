# The tutorial's commands. Each target sets up what it needs first:
#   make mlp        set up, then train the article's MLP      (the main job)
#   make test       set up the environment, then run the test suite
#   make cnn        set up, then train the article's CNN
#   make gpu-check  set up: ~/.theanorc, then Theano's GPU test
#   make reproduce  set up, then rebuild the results table in results/
# make test-fast runs the unit tests alone (pytest -m "not slow"), in seconds;
# make test-lasagne runs Lasagne 0.1's own test suite on this stack.
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python

.PHONY: setup mlp cnn gpu-check test test-fast test-lasagne reproduce clean

# A virtual environment with the pinned stack, rebuilt when the pins change.
$(VENV)/.installed: requirements.txt tests/requirements.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 needed, found " + sys.version.split()[0] + ": make PYTHON=/path/to/python3.11"'
	@echo "Installing Theano 1.0.5, Lasagne 0.1, nolearn 0.6.1 and their pinned dependencies into $(VENV) (once; about a minute)"
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt -r tests/requirements.txt
	touch $@

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
test: $(VENV)/.installed
	$(PY) -m pytest

test-fast: $(VENV)/.installed
	$(PY) -m pytest -m "not slow"

# Lasagne 0.1's own test suite, from its sdist, with theano_today imported first.
test-lasagne: $(VENV)/.installed
	tests/lasagne_suite.sh $(PY)

clean:
	rm -rf $(VENV) .pytest_cache
