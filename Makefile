# alqa developer commands. `make help` lists them.
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
# On a CPU box this pin installs the local CPU wheel (fast); on a GPU box it installs PyPI's
# CUDA build. A torch already in the venv is kept: GPU users can install their own first.
TORCH_SPEC ?= torch==2.13.0
SHARED_QA ?= ../shared/data/qa
ARGS ?=

.PHONY: help setup test test-all lint run run-offline clean

help:
	@echo "make setup      create $(VENV) and install alqa with its dev tools"
	@echo "make test       fast tests (what you run while coding)"
	@echo "make test-all   every test, the slow end-to-end ones too (what CI runs)"
	@echo "make lint       ruff"
	@echo "make run        set up, then the main job on defaults sized for a CPU (ARGS=... to override)"

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

setup: $(PY)
	@$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install --quiet "$(TORCH_SPEC)"
	$(PY) -m pip install --quiet -e ".[dev]"

test: setup
	$(PY) -m pytest -m "not slow" -q

test-all: setup
	$(PY) -m pytest -q

lint: setup
	$(PY) -m ruff check alqa tests benchmarks main.py
	$(PY) -m ruff format --check alqa tests benchmarks main.py

# The newcomer's first run: the embedded MiniLM on a 2,000-question SQuAD pool, 3 rounds,
# sized to finish in about half an hour on a 2-core CPU. Uses the hub unless you pass files:
#   make run ARGS="dataset.train_file=$(SHARED_QA)/squad_v1.1_train.reconstructed.json.gz \
#                  dataset.eval_file=$(SHARED_QA)/squad_v1.1_dev.reconstructed.json.gz"
run: setup
	$(PY) main.py model=minilm strategy=margin dataset.pool_size=2000 dataset.eval_size=500 \
		budget.initial=200 budget.per_round=100 budget.quota=200 $(ARGS)

# The same job on the offline copies of SQuAD beside this repo.
run-offline:
	$(MAKE) run ARGS="dataset.train_file=$(SHARED_QA)/squad_v1.1_train.reconstructed.json.gz dataset.eval_file=$(SHARED_QA)/squad_v1.1_dev.reconstructed.json.gz $(ARGS)"

clean:
	rm -rf outputs multirun .pytest_cache .ruff_cache
