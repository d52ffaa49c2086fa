# alqa developer commands. `make help` lists them.
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
# On a CPU box this pin installs the local CPU wheel (fast); on a GPU box it installs PyPI's
# CUDA build. A torch already in the venv is kept: GPU users can install their own first.
TORCH_SPEC ?= torch==2.13.0
# the main job's data: squad_sample is embedded in the package (no network); squad is the hub
DATASET ?= squad_sample
ARGS ?=

.PHONY: help setup test test-all lint run clean

help:
	@echo "make setup      create $(VENV) and install alqa with its dev tools"
	@echo "make test       fast tests (what you run while coding)"
	@echo "make test-all   every test, the slow end-to-end ones too, on every core (what CI runs)"
	@echo "make lint       ruff"
	@echo "make run        set up, then the main job on the embedded SQuAD sample, sized for a CPU"
	@echo "                (DATASET=squad for the hub, ARGS=... for any other override)"

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

setup: $(PY)
	@$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install --quiet "$(TORCH_SPEC)"
	$(PY) -m pip install --quiet -e ".[dev]"

test: setup
	$(PY) -m pytest -m "not slow" -q -n auto

test-all: setup
	$(PY) -m pytest -q -n auto

lint: setup
	$(PY) -m ruff check alqa tests benchmarks main.py
	$(PY) -m ruff format --check alqa tests benchmarks main.py

# The newcomer's first run: the embedded MiniLM on a 2,000-question pool from the embedded
# SQuAD sample (DATASET=squad_sample: no network), 3 rounds, sized to finish in about half an
# hour on a 2-core CPU. The full SQuAD: DATASET=squad (hub), or your own files:
#   make run DATASET=squad ARGS="dataset.train_file=<path to train-v1.1.json> \
#                                dataset.eval_file=<path to dev-v1.1.json>"
run: setup
	$(PY) main.py model=minilm strategy=margin dataset=$(DATASET) dataset.pool_size=2000 \
		dataset.eval_size=500 budget.initial=200 budget.per_round=100 budget.quota=200 $(ARGS)

clean:
	rm -rf outputs multirun .pytest_cache .ruff_cache
