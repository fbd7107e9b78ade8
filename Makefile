# The entry points people type. Every target creates the virtual environment when it is missing.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install test lint typecheck bytecode unit demo messages styles audit clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy .

# The suite runs in one process per core and one more (pytest-xdist, at most 8): its tests wait
# on the servers they start as much as they compute. Each test module runs whole in one process,
# so that the servers it starts start once; `make test PYTEST_WORKERS=0` runs it in one.
# The fault suite then runs alone: it loads the machine on purpose and times recoveries, which
# tests beside it would slow (it restarts a PostgreSQL cluster of its own, never the machine's).
PYTEST_WORKERS ?= $(shell $(PYTHON) -c 'import os; print((os.cpu_count() or 1) + 1)')

# The project's bytecode, compiled before the suite: its tests start `concord` hundreds of times,
# and an environment that does not write bytecode (PYTHONDONTWRITEBYTECODE) would compile every
# module again in each process; only what changed is compiled again.
bytecode: $(STAMP)
	$(BIN)/python -m compileall -q -j 0 activities api audit benchmarks cli domain runtime store \
		workflows worker.py tests

test: lint typecheck bytecode
	$(BIN)/pytest -n $(PYTEST_WORKERS) --maxprocesses 8 --dist loadscope --ignore tests/faults
	$(BIN)/pytest tests/faults

unit: $(STAMP)
	$(BIN)/pytest tests/unit

# The installed dependencies against PyPI's vulnerability database (.ci/audit-dependencies).
audit: $(STAMP)
	PATH=$(abspath $(BIN)):$$PATH .ci/audit-dependencies --venv $(VENV)

demo: $(STAMP)
	$(BIN)/concord demo

# The portal's messages: extracted again, and each catalogue updated (new ones to translate).
messages: $(STAMP)
	$(BIN)/pybabel extract -F api/portal/babel.cfg -k N_ --no-location --omit-header \
		--sort-output -o api/portal/locales/messages.pot .
	for language in fr ru; do \
		$(BIN)/pybabel update -i api/portal/locales/messages.pot -l $$language \
			-o api/portal/locales/$$language.po --no-fuzzy-matching --ignore-obsolete; \
	done

# The portal's stylesheet, compiled from styles/portal.scss and GOV.UK Frontend (npm, pinned in
# styles/package-lock.json); the result is committed, so running Concord needs neither.
styles:
	cd styles && npm ci --no-audit --no-fund && npx sass --load-path=node_modules \
		--style=compressed --no-source-map portal.scss ../api/portal/static/portal.css

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache var
	find . -name __pycache__ -not -path './$(VENV)/*' -prune -exec rm -rf {} +
