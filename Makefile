# Concierge: `make run` installs and starts the app; `make test` runs every test.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8501

.PHONY: install install-test run chat test test-sqlite bench bench-ui bench-pages bench-model eval clean install-semantic

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

install: $(BIN)/python
	PYTHONWARNINGS=ignore $(BIN)/pip install -q -e .  # setuptools explains editable installs at length: not for a newcomer

install-test: $(BIN)/python
	PYTHONWARNINGS=ignore $(BIN)/pip install -q -e '.[dev,postgres]'

install-semantic: $(BIN)/python
	$(BIN)/pip install -q -e '.[semantic]'

run: install
	$(BIN)/concierge init --demo
	MALLOC_ARENA_MAX=2 $(BIN)/streamlit run serve.py --server.port $(PORT)  # fewer glibc heaps: less memory

chat: install
	$(BIN)/concierge chat

test: install-test
	# Understanding (agents, engine) as shipped, with the sentence encoder; the rest of the
	# suite with embeddings off, on SQLite then on PostgreSQL (where only storage differs).
	$(BIN)/python -m pytest tests/agents tests/engine
	CONCIERGE_EMBEDDINGS=off $(BIN)/python -m pytest --ignore=tests/agents --ignore=tests/engine
	CONCIERGE_TEST_DATABASE=postgresql CONCIERGE_EMBEDDINGS=off $(BIN)/python -m pytest --ignore=tests/agents -m "not slow"

test-sqlite: install-test
	$(BIN)/python -m pytest

eval: install
	$(BIN)/concierge eval intents --train ../shared/data/banking77/train.csv --test ../shared/data/banking77/test.csv --json
	$(BIN)/concierge eval engine --test ../shared/data/banking77/test.csv --json

bench: install
	$(BIN)/concierge bench engine --turns 1000 --concurrency 8 --json

bench-ui: install-test
	$(BIN)/python -m benchmarks.ui_latency --json

bench-model: install
	$(BIN)/python -m benchmarks.model_overhead --turns 300 --json

bench-pages: install
	$(BIN)/python -m benchmarks.monitoring_pages --turns 100000 --json

clean:
	rm -rf $(VENV) .state .pytest_cache
