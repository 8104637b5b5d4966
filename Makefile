# featurestream — every target that needs the virtualenv depends on `install`.
# `make help` lists the targets.

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=
LOAD_ARGS ?=
REPLAY_ARGS ?=
FUZZ_ARGS ?=
# The SAM CLI lives in its own venv (its pins conflict with the project's); built on Python
# 3.13 so `sam build` finds the python3.13 the Lambda runtime needs on PATH.
SAM_PYTHON ?= python3.13
SAM_VENV := .venv-sam
SAM_STAMP := $(SAM_VENV)/.installed
SAM := PATH="$(CURDIR)/$(SAM_VENV)/bin:$$PATH" SAM_CLI_TELEMETRY=0 $(SAM_VENV)/bin/sam
# cfn-lint, checkov and bandit live in their own venv too (checkov's pins conflict with the
# project's), locked like the others (requirements/security.in names their exact versions).
SEC_VENV := .venv-security
SEC_STAMP := $(SEC_VENV)/.installed
SEC_BIN := $(SEC_VENV)/bin
BANDIT_PATHS := functions producers devstack training featurestream_cli tools
# Points a recipe's shell at the running local stack, or stops with one clear error: without
# it, the endpoints would fall back to AWS (no credentials: an error per record; with them,
# the real account).
LOCAL_STACK_ENV = stack_env="$$($(BIN)/featurestream local env 2>/dev/null)" || { \
	  echo "make $@: the local stack is not running; start it with: make up" >&2; exit 1; }; \
	eval "$$stack_env"
FUNCTION ?= OrderFeaturesFunction
EVENT ?= events/order-batch.json


.PHONY: help install browser lock upgrade test fuzz lint fit train bench clean validate build events invoke deploy demo up down replay load chaos docs security

help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | sort | \
	  awk 'BEGIN {FS = ":.*## "}; {printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2}'

# Supported Pythons: the ones requirements/dev.txt is resolved and tested for.
SUPPORTED_PYTHON := 3.11 3.12 3.13
DEV_LOCK := requirements/dev.txt
UV := $(BIN)/uv
# `uv pip sync` installs exactly a lock: what is not in it is removed, hashes are checked.
SYNC = $(UV) pip sync --quiet --require-hashes --python

$(STAMP): $(DEV_LOCK) pyproject.toml
	@$(PYTHON) -c 'import sys; v = "%d.%d" % sys.version_info[:2]; sys.exit(0 if v in "$(SUPPORTED_PYTHON)".split() else "featurestream supports Python $(SUPPORTED_PYTHON); $(PYTHON) is " + v + ". Run: make PYTHON=python3.11 ...")' || exit 1
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python tools/locks.py bootstrap uv > $(VENV)/uv.lock.txt
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r $(VENV)/uv.lock.txt
	$(SYNC) $(BIN)/python $(DEV_LOCK)
	$(UV) pip install --quiet --python $(BIN)/python --no-deps --no-build-isolation -e .
	@touch $(STAMP)

install: $(STAMP) ## create .venv with exactly requirements/dev.txt and the project (fast when nothing changed)

lock: install ## re-resolve the locks after an input changed (pins move only where they must)
	$(BIN)/python tools/locks.py compile

upgrade: install ## move every lock to the newest versions; kept only if test, validate and security pass
	@$(BIN)/python tools/locks.py save
	$(BIN)/python tools/locks.py compile --upgrade
	@if $(MAKE) test validate security; then $(BIN)/python tools/locks.py forget; \
	  echo "locks upgraded and green: review git diff requirements/ functions/requirements.txt, then commit"; \
	 else $(BIN)/python tools/locks.py restore; $(MAKE) install; \
	  echo "the upgraded locks failed a check: the previous locks are back" >&2; exit 1; fi

# Headless Chromium for the drift report's browser test. Installed from .ci/apt-packages
# when missing and apt-get can run (root, e.g. CI); otherwise a note, and the test skips
# outside CI (CI=1 makes a missing browser a test failure, never a silent skip).
browser: ## install the Debian packages the tests need (.ci/apt-packages: chromium) if missing
	@if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then :; \
	 elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
	    $$(grep -v '^#' .ci/apt-packages) >/dev/null || exit 1; \
	 else echo "note: chromium is not installed; the drift report's browser test will skip" \
	   "(install the packages in .ci/apt-packages, or run make browser as root)" >&2; fi

test: install browser ## run the whole test suite (fails when no test ran)
	@$(BIN)/pytest $(PYTEST_ARGS); rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing on purpose" >&2; exit 1; fi; exit $$rc

fuzz: install ## the fuzz suite with many fresh examples (make test runs it briefly); FUZZ_ARGS for pytest
	FEATURESTREAM_FUZZ_PROFILE=fuzz $(BIN)/pytest tests/fuzz $(FUZZ_ARGS)

lint: install ## ruff (lint + format check) and mypy on the library
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/mypy --strict tools

fit: install ## fit the MinMax scalers on raw/ and write the versioned params artifact
	$(BIN)/featurestream fit

train: install ## build the point-in-time training set from raw/ and train the reorder model into model/
	$(BIN)/featurestream train

bench: install ## run the benchmarks (each prints a ratio against a baseline measured in the same run)
	@for b in bench/[a-z]*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean: down ## stop the local stack (as make down), then remove the virtualenvs, build output and local state
	rm -rf $(VENV) $(SAM_VENV) $(SEC_VENV) .aws-sam .state .pytest_cache .mypy_cache .ruff_cache build *.egg-info

$(SAM_STAMP): $(STAMP) requirements/sam.txt
	@test -x $(SAM_VENV)/bin/python || PYENV_VERSION=$${PYENV_VERSION:-3.13.0} $(SAM_PYTHON) -m venv $(SAM_VENV)
	$(SYNC) $(SAM_VENV)/bin/python requirements/sam.txt
	@touch $(SAM_STAMP)

validate: install $(SAM_STAMP) ## check template.yaml: catalog in step, sam validate --lint
	$(BIN)/featurestream template --check
	$(SAM) validate --lint

$(SEC_STAMP): $(STAMP) requirements/security.txt
	@test -x $(SEC_BIN)/python || $(PYTHON) -m venv $(SEC_VENV)
	$(SYNC) $(SEC_BIN)/python requirements/security.txt
	@touch $(SEC_STAMP)

security: $(SEC_STAMP) ## cfn-lint + checkov on template.yaml, bandit on the code (docs/security.md)
	$(SEC_BIN)/cfn-lint template.yaml
	$(SEC_BIN)/checkov --file template.yaml --framework cloudformation --quiet --compact --skip-download
	$(SEC_BIN)/bandit --quiet --recursive $(BANDIT_PATHS)

build: install $(SAM_STAMP) ## sam build (python3.13 runtime) into .aws-sam/
	$(SAM) build

events: install ## regenerate the sample Lambda events in events/ from raw/
	$(BIN)/featurestream events

invoke: install ## run a function in-process on a sample event (FUNCTION=..., EVENT=...) against the running local stack, no Docker
	@$(LOCAL_STACK_ENV) && $(BIN)/featurestream invoke $(FUNCTION) -e $(EVENT)

deploy: build ## sam deploy with samconfig.toml (GUIDED=1 for the first deploy)
	$(SAM) deploy $(if $(GUIDED),--guided,)

docs: install ## regenerate what derives from the feature catalog: docs/features.md, template CatalogHash
	$(BIN)/featurestream catalog docs
	$(BIN)/featurestream template --write

chaos: install ## fault suite on a fresh local stack: each fault alone, then all together; prints figures (docs/faults.md)
	$(BIN)/python -m devstack.rigs.chaos

demo: install ## the whole pipeline locally: stack up, replay both CSVs, features, predictions, stack down
	$(BIN)/featurestream demo

up: install ## start the local stack (provisioned from template.yaml) and leave it running
	$(BIN)/featurestream local up

# Without .venv nothing can stop the stack: say so if a recorded service is still alive.
RUN_DIR = $${FEATURESTREAM_STATE_DIR:-.state}/run
down: ## stop the local stack; refuses while moto holds unconsumed data (DISCARD=1 stops anyway)
	@if [ -x $(BIN)/featurestream ]; then $(BIN)/featurestream local down $(if $(DISCARD),--discard,); \
	 else for f in $(RUN_DIR)/*.pid; do if [ -f "$$f" ] && kill -0 "$$(cat "$$f")" 2>/dev/null; then \
	   echo "$$f: a local-stack service is still running but .venv is gone; run make install, then make down" >&2; exit 1; fi; done; \
	   echo "nothing to stop (no .venv, no service running)"; fi

load: install ## full replay through the local stack, 10 ms store latency: lag table + chart in .state/load/ (docs/load.md)
	$(BIN)/python -m devstack.rigs.load $(LOAD_ARGS)

replay: install ## replay raw/ into the running local stack (make up first; REPLAY_ARGS="--limit 1000")
	@$(LOCAL_STACK_ENV) && $(BIN)/featurestream replay $(REPLAY_ARGS)
