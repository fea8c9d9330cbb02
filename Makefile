# The README's two commands: `make demo` and `make test`. Both create the
# environment (.venv at the repo root) when it is missing and reuse it after.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
MMCV := mmcv==2.1.0
WORK_DIR ?= work_dirs/redo_toy

.PHONY: demo test test-quick env clean-env

env: $(STAMP)

# mmcv ships as source only: it is compiled against the installed torch, so
# torch and the build tools go in first and the build runs without isolation.
# pip caches the built wheel, so a second environment on the same machine
# installs it in seconds.
$(STAMP): requirements.txt requirements-build.txt requirements-test.txt setup.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -r requirements.txt -r requirements-build.txt \
		-r requirements-test.txt
	MMCV_WITH_OPS=1 $(PY) -m pip install -q --no-build-isolation $(MMCV)
	$(PY) -m pip install -q --no-build-isolation --no-deps -e .
	$(PY) -c "import mmseg_redo, mmcv.ops, mmseg.apis"
	touch $(STAMP)

demo: $(STAMP)
	$(PY) tools/demo.py --work-dir $(WORK_DIR)

test: $(STAMP)
	$(PY) -m pytest -q tests

# The loop while editing: every test but those marked slow.
test-quick: $(STAMP)
	$(PY) -m pytest -q tests -m "not slow"

clean-env:
	rm -rf $(VENV)
