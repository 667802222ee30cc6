# Taito — `make run` serves a development instance; `make test` runs the suite.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
SHARED ?= $(abspath ../shared)
HOST   ?= 127.0.0.1
PORT   ?= 8000
export TAITO_SHARED_DIR := $(SHARED)

.PHONY: install run test lint audit audit-known fuzz soak contexts interop-deps browser-deps bench-deps bench clean

$(BIN)/.installed: pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[dev]'
	touch $@

install: $(BIN)/.installed

# JSON-LD contexts (var/contexts) and credential JSON Schemas (var/schemas), hash-checked.
contexts: install
	@if [ -f "$(SHARED)/contexts/MANIFEST.json" ]; then \
		$(BIN)/taito contexts sync --from "$(SHARED)/contexts"; \
	else \
		echo "no $(SHARED)/contexts: run 'taito contexts sync' (HTTPS) to fill var/contexts"; \
	fi
	@if [ -d "$(SHARED)/conformance/ob3/schemas/json" ]; then \
		$(BIN)/taito schemas sync --from "$(SHARED)/conformance/ob3/schemas/json"; \
	else \
		echo "no $(SHARED)/conformance/ob3/schemas/json: credentialSchema entries go unchecked"; \
	fi

# Independent implementations for the interoperability tests (git-ignored node_modules).
tests/interop/node_modules/.installed: tests/interop/package-lock.json
	@if command -v npm >/dev/null; then \
		npm ci --prefix tests/interop --no-audit --no-fund --loglevel=error && touch $@; \
	else echo "npm not found: interoperability tests will be skipped"; fi

interop-deps: tests/interop/node_modules/.installed

# Headless browser driver for the page tests (git-ignored node_modules).
tests/browser/node_modules/.installed: tests/browser/package-lock.json
	@if command -v npm >/dev/null; then \
		npm ci --prefix tests/browser --no-audit --no-fund --loglevel=error --ignore-scripts && touch $@; \
	else echo "npm not found: browser tests will be skipped"; fi

browser-deps: tests/browser/node_modules/.installed

run: install contexts
	$(BIN)/taito dev setup
	TAITO_MASTER_KEY_FILE=var/dev-master.key TAITO_SEAL_CA_CERT_FILE=var/dev-seal-ca.pem \
	TAITO_SEAL_CA_KEY_FILE=var/dev-seal-ca.jwk TAITO_TRUST_ANCHORS_FILE=var/dev-seal-ca.pem \
	TAITO_VERIFIER_CERT_FILE=var/dev-verifier.pem TAITO_VERIFIER_KEY_FILE=var/dev-verifier.jwk \
	TAITO_ALLOW_PRIVATE_NETWORK=true \
	TAITO_OPERATOR_TOKEN=$${TAITO_OPERATOR_TOKEN:-dev-operator-token} \
	$(BIN)/taito serve --host $(HOST) --port $(PORT)

test: install contexts interop-deps browser-deps
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(MAKE) --no-print-directory audit-known

# In `make lint`: fail on any known vulnerability in what could be audited, and say how much could
# not be (a registry mirror without PyPI's JSON advisory API audits nothing: use `make audit`).
audit-known: install
	@mkdir -p var; status=0; \
	$(BIN)/pip-audit -r requirements.lock --no-deps --disable-pip --progress-spinner off \
		>var/pip-audit.txt 2>&1 || status=$$?; \
	grep -v "could not be audited\|^WARNING" var/pip-audit.txt; \
	echo "pip-audit: $$(grep -c 'could not be audited' var/pip-audit.txt) of \
	$$(grep -c '==' requirements.lock) pinned dependencies could not be audited here"; \
	exit $$status

# Known vulnerabilities in the pinned dependencies (PyPI's advisory data, over the network).
# --strict: a dependency that cannot be audited (no network, no service) fails the target.
audit: install
	@$(BIN)/pip-audit -r requirements.lock --no-deps --disable-pip --strict --progress-spinner off \
		|| { echo "make audit: FAILED - a known vulnerability, or the dependencies could not be audited (network?)"; exit 1; }

# Long fuzzing: schemathesis over the whole API and hypothesis over every parser, many examples.
fuzz: install contexts
	TAITO_FUZZ_EXAMPLES=$${TAITO_FUZZ_EXAMPLES:-100} $(BIN)/pytest tests/fuzz -q

# 60 s of mixed load by 32 clients on uvicorn (2 workers) and PostgreSQL, then a reconciliation.
soak: install contexts
	$(BIN)/python -m bench.soak --seconds $${SOAK_SECONDS:-60} --clients $${SOAK_CLIENTS:-32}

# The JavaScript comparators of the benchmark (git-ignored node_modules).
bench/node/node_modules/.installed: bench/node/package-lock.json
	@if command -v npm >/dev/null; then \
		npm ci --prefix bench/node --no-audit --no-fund --loglevel=error && touch $@; \
	else echo "npm not found: the JavaScript comparators will be skipped"; fi

bench-deps: bench/node/node_modules/.installed

bench: install contexts bench-deps
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) var tests/interop/node_modules tests/browser/node_modules bench/node/node_modules .pytest_cache .mypy_cache .ruff_cache .hypothesis
