# The two commands of the README: `make publish` and `make test`. Both set everything up first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
KERNEL := cldstats
MONTH ?= 2026-03

# Test worker processes (pytest-xdist). The end-to-end tests spend part of their time waiting on
# the processes they start (publications, kernels, a browser), so three workers keep two cores busy;
# the fast tests are all CPU, two workers for two cores.
TEST_WORKERS ?= 3
FAST_WORKERS ?= 2

.PHONY: setup publish test test-fast bench validate synth lint clean expectations

setup: $(STAMP)

# Reinstall when the pins change. The Jupyter kernel is registered inside the virtual environment
# (--sys-prefix), so papermill finds it by name without touching the user's own Jupyter setup.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[test]"
	$(BIN)/python -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "Python (cldstats)" >/dev/null
	@touch $(STAMP)

# The synthetic data is made by its own command, on a first run only: publishing never generates data.
publish: setup
	@test -n "$$(ls -A data/submissions 2>/dev/null)" || $(BIN)/cldstats synth --out data
	$(BIN)/cldstats publish --month $(MONTH)

validate: setup
	$(BIN)/cldstats validate --data data --out reports/validation

synth: setup
	$(BIN)/cldstats synth --out data

# pytest exits 5 when it collects no test: a suite that finds nothing is broken, so that fails too.
define run_pytest
	@status=0; GX_ANALYTICS_ENABLED=false $(BIN)/python -m pytest $(1) $(PYTEST_ARGS) \
		|| status=$$?; \
	if [ $$status -eq 5 ]; then echo "make $@: pytest collected no tests; failing on purpose"; exit 1; fi; \
	exit $$status
endef

# Everything, the end-to-end runs of the real pipeline included (what CI runs). Each test module
# stays in one worker (--dist loadscope): its publications, made once per module, are not repeated.
test: setup
	$(call run_pytest,-n $(TEST_WORKERS) --dist loadscope)

# The fast loop while changing code: everything but the tests marked slow (end-to-end runs).
test-fast: setup
	$(call run_pytest,-n $(FAST_WORKERS) --dist load -m "not slow")

bench: setup
	$(BIN)/cldstats bench --scale $${SCALE:-1.0}

lint: setup
	$(BIN)/ruff check cldstats tests

expectations: setup
	$(BIN)/python -m cldstats.quality --write-suites expectations

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
