# GridCare — `make run` and `make test` work on a fresh Debian machine with Python 3.11+.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed
TEST_DATABASES ?= sqlite postgresql mysql
PYTEST_ARGS ?=

.PHONY: run test test-sqlite bench fuzz lint system-packages clean

# Production's requirements and, on top, the tests', benchmarks' and linter's.
$(STAMP): requirements.txt requirements-test.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -r requirements-test.txt
	touch $(STAMP)

# CJK fonts for Chinese PDFs, Chromium for the browser tests, poppler for pdftotext.
system-packages:
	@missing=""; \
	fc-list 2>/dev/null | grep -q "Noto Sans CJK" || missing="$$missing fonts-noto-cjk"; \
	test -x /usr/bin/chromium || missing="$$missing chromium"; \
	command -v pdftotext >/dev/null || missing="$$missing poppler-utils"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = "0" ]; then \
	    echo "installing:$$missing"; \
	    (apt-get update -qq || true) && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "missing Debian packages:$$missing (run as root or install them)"; \
	  fi; \
	fi

run: $(STAMP) system-packages
	$(PY) run.py

test: $(STAMP) system-packages lint
	@set -e; for db in $(TEST_DATABASES); do \
	  echo "=== test suite on $$db ==="; \
	  GRIDCARE_TEST_DB=$$db $(PY) -m pytest -q $(PYTEST_ARGS); \
	done

test-sqlite: $(STAMP)
	GRIDCARE_TEST_DB=sqlite $(PY) -m pytest -q $(PYTEST_ARGS)

# schemathesis over every operation of /api/v1/_openapi, more examples than the suite runs.
FUZZ_EXAMPLES ?= 50
fuzz: $(STAMP)
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) GRIDCARE_TEST_DB=sqlite $(PY) -m pytest -q -s -p no:warnings tests/test_proof_fuzz.py

bench: $(STAMP) system-packages
	$(PY) -m benchmarks

lint: $(STAMP)
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) .pytest_cache
