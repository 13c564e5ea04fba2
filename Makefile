# Truss: `make run` for a working local console, `make test` for the whole suite.
SHELL := /bin/bash
.DEFAULT_GOAL := help
PY := .venv/bin/python
VENV_STAMP := .venv/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)
export TRUSS_ORY_CACHE ?= $(HOME)/.cache/truss/ory

.PHONY: help system venv ory-build ory-up ory-down ory-status migrate demo run test test-unit lint typecheck bench bench-scale clean test-sqlite screenshots

help:
	@echo "make run         install everything, start Hydra + Kratos + Truss on 127.0.0.1:8000 with demo data"
	@echo "make test        ruff, mypy and the whole pytest suite (starts its own Hydra + Kratos)"
	@echo "make ory-build   build the pinned Hydra/Kratos binaries into $(TRUSS_ORY_CACHE) (once)"
	@echo "make ory-up / ory-down / ory-status   manage the local Hydra + Kratos (var/ory/)"
	@echo "make bench-scale pages and APIs at 1,000 of everything beside full scale (generated data, kept in"
	@echo "                 PostgreSQL; QUICK=1 for a smoke run, BENCH_SCALE_ARGS=--regenerate to rebuild)"
	@echo "make screenshots a full-page PNG of every console page into var/screenshots/ (needs \`make run\`;"
	@echo "                 SCREENSHOTS_ARGS=--start runs a private Truss + Hydra + Kratos instead)"

system:  # system packages (Chromium, redis-server, gcc, …): installed when missing, or the command to run
	@bash scripts/setup.sh

$(VENV_STAMP): pyproject.toml | system
	@test -x $(PY) || python3.11 -m venv .venv || python3 -m venv .venv
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@rm -f .venv/.installed-*; touch $@

venv: $(VENV_STAMP)

ory-build: system
	@bash scripts/ory-build.sh all

ory-up: ory-build venv
	@$(PY) -m truss.devstack up

ory-down:
	@$(PY) -m truss.devstack down

ory-status:
	@$(PY) -m truss.devstack status

.env:
	@sed -e "s/^SECRET_KEY=.*/SECRET_KEY=$$(head -c 32 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 40)/" .env.example > .env
	@echo "Wrote .env (DEBUG=true, SQLite under var/)."

migrate: venv .env
	@mkdir -p var
	$(PY) manage.py migrate --noinput

demo: migrate ory-up
	$(PY) manage.py seed_demo

run: demo
	@echo "Truss on http://127.0.0.1:8000  (Ctrl-C stops Truss; 'make ory-down' stops Hydra and Kratos)"
	$(PY) manage.py runserver 127.0.0.1:8000

lint: venv
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

typecheck: venv
	.venv/bin/mypy .

test: venv ory-build lint typecheck
	$(PY) -m pytest $(PYTEST_ARGS)

test-sqlite: venv ory-build  # the suite on the zero-setup database, whatever DATABASE_URL says
	env -u DATABASE_URL $(PY) -m pytest $(PYTEST_ARGS)

test-unit: venv
	$(PY) -m pytest -m "not integration and not browser" $(PYTEST_ARGS)

bench: venv ory-build  # writes bench/RESULTS.md: bridge flows vs the reference, 8-browser scaling, client list
	$(PY) bench/bridge_flows.py --rounds 5 --client-list $(BENCH_ARGS)

bench-scale: venv ory-build  # bench/RESULTS.md's Scale section: every page and read API at 1k vs full scale
	$(PY) bench/scale.py $(if $(QUICK),--quick) $(BENCH_SCALE_ARGS)

clean:
	rm -rf var staticfiles .pytest_cache .mypy_cache .ruff_cache

screenshots: venv  # Chromium from the system (make system), never downloaded
	$(PY) scripts/screenshots.py $(SCREENSHOTS_ARGS)
