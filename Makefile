# Set-up, the main job, tests and benchmarks. Every target creates .venv and installs
# what it needs from this repo's own files.

PYTHON ?= python3
# One package per system, each in packages/NAME with src/NAME and tests.
PYPROJECTS := $(sort $(wildcard packages/*/pyproject.toml))
PACKAGES := $(patsubst packages/%/pyproject.toml,%,$(PYPROJECTS))
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Tests and benchmarks pin their thread count (the machines have 2 cores).
THREADS ?= 2
export NUMBA_NUM_THREADS := $(THREADS)

# The main job: the paper's BFF soup (2^17 programs of 64 bytes, mutation 1/4096)
# with a seed that transitions early, run until replicators have taken over, with
# tracer tokens (paper Figs. 1-3); then its report page.
RUN_DIR ?= runs/main
RUN_SEED ?= 8
RUN_FLAGS := --lang bff_noheads --num 131072 --seed $(RUN_SEED) \
	--mutation-prob 0.000244140625 --stopping-entropy 3 --trace-tokens \
	--out $(RUN_DIR)

.PHONY: install run test lint format bench clean

install: $(STAMP)

$(STAMP): Makefile requirements-dev.txt $(PYPROJECTS)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -qq --disable-pip-version-check -r requirements-dev.txt \
		$(foreach p,$(PACKAGES),-e 'packages/$(p)[test]')
	touch $@

run: $(STAMP)
	@if [ -f $(RUN_DIR)/config.json ]; then \
		echo "continuing $(RUN_DIR) (remove it to start over)"; \
		$(BIN)/complife run --out $(RUN_DIR) --resume; \
	else \
		$(BIN)/complife run $(RUN_FLAGS); \
	fi
	$(BIN)/complife report $(RUN_DIR) --force
	@echo "open $(RUN_DIR)/report.html"

lint: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Every package's tests run, even after one fails; the target fails if any did.
test: lint
	@failed=""; for p in $(PACKAGES); do \
		echo "== $$p"; \
		$(BIN)/pytest -q packages/$$p/tests || failed="$$failed $$p"; \
	done; \
	if [ -n "$$failed" ]; then echo "tests failed in:$$failed"; exit 1; fi

bench: $(STAMP)
	@for p in $(PACKAGES); do \
		if [ -f packages/$$p/src/$$p/bench.py ]; then \
			$(BIN)/python -m $$p.bench || exit 1; \
		fi; \
	done

clean:
	rm -rf $(VENV)
