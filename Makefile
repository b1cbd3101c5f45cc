# The tutorial's commands. Each target sets up what it needs first:
#   make mlp        set up, then train the article's MLP      (the main job)
#   make test       set up, then run the test suite
#   make cnn        set up, then train the article's CNN
#   make gpu-check  set up, then run Theano's GPU test
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python

.PHONY: setup mlp cnn gpu-check test reproduce clean

# A virtual environment with the pinned stack, rebuilt when the pins change.
$(VENV)/.installed: requirements.txt requirements-test.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 needed, found " + sys.version.split()[0] + ": make PYTHON=/path/to/python3.11"'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt -r requirements-test.txt
	touch $@

# The article's set-up: the environment, ~/.theanorc, and the GPU test.
setup: $(VENV)/.installed
	$(PY) setup_theanorc.py
	$(PY) gpu_check.py

mlp: setup
	$(PY) mlp.py

cnn: setup
	$(PY) ConvolutionNN.py

gpu-check: setup

test: setup
	$(PY) -m pytest -q tests

reproduce: setup
	$(PY) reproduce.py

clean:
	rm -rf $(VENV) .pytest_cache
