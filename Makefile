# Set-up is part of each target: a fresh machine with Python 3.11 needs nothing else.
PY ?= python3
VENV := .venv
UV := $(VENV)/.uv-installed

$(UV): requirements.lock pyproject.toml
	$(PY) -m pip install --quiet uv
	$(PY) -m uv venv --quiet --allow-existing --python 3.11 $(VENV)  # a changed lock re-syncs an existing .venv
	$(PY) -m uv pip sync --quiet --compile-bytecode --python $(VENV)/bin/python requirements.lock
	$(PY) -m uv pip install --quiet --python $(VENV)/bin/python --no-deps -e .
	touch $(UV)

.PHONY: install demo test catalog ui bench reliability
install: $(UV)

demo: $(UV)   ## the main job: sample data, a monthly claim run per month through Dagster, the balance
	$(VENV)/bin/claimrecon demo

test: $(UV)   ## the test suite (real DuckDB files, real Dagster materializations)
	$(VENV)/bin/claimrecon catalog --check
	$(VENV)/bin/python -m pytest -q -p no:cacheprovider -n 2

catalog: $(UV)
	$(VENV)/bin/claimrecon catalog

ui: $(UV)     ## the Dagster UI over workspace.yaml (owner-only files: the warehouse and reports hold PHI)
	umask 077 && $(VENV)/bin/dagster dev -w workspace.yaml

reliability: $(UV)  ## the hardening suite; rewrites docs/reliability.md from what it tried (make test never does)
	CLAIMRECON_RELIABILITY_PAGE=docs/reliability.md $(VENV)/bin/python -m pytest -q -p no:cacheprovider -n 2 \
	  tests/test_hardening.py tests/test_dagster_materialize.py tests/test_dagster_and_catalog.py

bench: $(UV)  ## the benchmark: state and county months against their DuckDB load floor (3 runs each), the demo months, 12 county and 3 state months of history -> benchmarks/results.md
	$(VENV)/bin/python benchmarks/run.py
