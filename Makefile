# Set-up is part of each target: a fresh machine with Python 3.11 needs nothing else.
PY ?= python3
VENV := .venv
UV := $(VENV)/.uv-installed

$(UV): requirements.lock pyproject.toml
	$(PY) -m pip install --quiet uv
	$(PY) -m uv venv --quiet --allow-existing --python 3.11 $(VENV)
	$(PY) -m uv pip sync --quiet --compile-bytecode --python $(VENV)/bin/python requirements.lock
	$(PY) -m uv pip install --quiet --python $(VENV)/bin/python --no-deps -e .
	touch $(UV)

.PHONY: install demo test catalog ui bench
install: $(UV)

demo: $(UV)   ## the main job: sample data, a monthly claim run per month through Dagster, the balance
	$(VENV)/bin/claimrecon demo

test: $(UV)   ## the test suite (real DuckDB files, real Dagster materializations)
	$(VENV)/bin/claimrecon catalog --check
	$(VENV)/bin/python -m pytest -q -p no:cacheprovider -n 2

catalog: $(UV)
	$(VENV)/bin/claimrecon catalog

# The UI opens the instance the CLI records its runs in (DAGSTER_HOME beside the warehouse unless set), over the
# demo's inbox and warehouse unless CLAIMRECON_INBOX / CLAIMRECON_WAREHOUSE say otherwise.
CLAIMRECON_WAREHOUSE ?= $(CURDIR)/claimrecon-demo/warehouse/claimrecon.duckdb
CLAIMRECON_INBOX ?= $(CURDIR)/claimrecon-demo/inbox
ui: $(UV)     ## the Dagster UI over workspace.yaml, on the warehouse's instance: `make demo` then `make ui` shows its months
	CLAIMRECON_WAREHOUSE=$(CLAIMRECON_WAREHOUSE) CLAIMRECON_INBOX=$(CLAIMRECON_INBOX) \
	DAGSTER_HOME=$$($(VENV)/bin/python -m claimrecon.runner $(CLAIMRECON_WAREHOUSE)) \
	$(VENV)/bin/dagster dev -w workspace.yaml $(UI_ARGS)

bench: $(UV)  ## the benchmark: a state-scale month (floor vs run, 3 runs) and 12 months of history -> benchmarks/results.md
	$(VENV)/bin/python benchmarks/run.py
