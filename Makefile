# Two commands for a new user: `make run` (the dashboard) and `make test` (the suite).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 8501

.PHONY: run test check bench sandbox browser clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Reinstall only when a requirements file changes.
$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.runtime

# `make run PORT=8611` for another port: the app reads its own port (demo mode's
# sandbox at <dashboard>/sandbox follows it) and writes its address beside the
# database, where the command line finds it.
run: $(VENV)/.runtime
	$(BIN)/streamlit run app.py --server.port $(PORT)

# The checks first (seconds), then the suite: import contracts (pyproject.toml's
# [tool.importlinter]), ruff's lint and format check, pytest (120 s per test).
test: $(VENV)/.dev browser check
	$(BIN)/python -m pytest $(PYTEST_ARGS)

check: $(VENV)/.dev
	$(BIN)/lint-imports
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The browser test drives Debian's chromium (Playwright cannot download one here).
browser:
	@if [ -x /usr/lib/chromium/chromium ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-liberation >/dev/null; \
	else echo "Install Debian's chromium for the browser test: sudo apt-get install chromium fonts-liberation" >&2; fi

bench: $(VENV)/.dev
	$(BIN)/python bench/bench_anomalies_page.py
	$(BIN)/python bench/bench_log_stats.py
	$(BIN)/python bench/bench_statistics_page.py
	$(BIN)/python bench/bench_sync.py
	$(BIN)/python bench/bench_worker.py
	$(BIN)/python bench/bench_client.py
	$(BIN)/python bench/bench_api.py
	$(BIN)/python bench/bench_inbound.py
	$(BIN)/python bench/bench_log_search.py
	$(BIN)/python bench/bench_bulk.py
	$(BIN)/python bench/bench_reruns.py
	$(BIN)/python bench/bench_import.py

sandbox: $(VENV)/.runtime
	$(BIN)/python -m lib.jira.sandbox --port 8080

clean:
	rm -rf $(VENV) .pytest_cache
