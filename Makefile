# GridCare — `make run` and `make test` work on a fresh Debian machine with Python 3.11+.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed
TEST_DATABASES ?= sqlite postgresql mysql
# The date-sensitive tests run again with the one clock set to each of these (tests/conftest.py
# CLOCK_DATES): the first working day of a month, 31 December, 1 January of a year without
# calendar data, a make-up Saturday, the eve of the Spring Festival.
TEST_CLOCKS ?= first-working-day new-years-eve year-without-calendar-data make-up-saturday spring-festival-eve
PYTEST_ARGS ?=

.PHONY: oidc-provider run test test-clock test-sqlite bench fuzz lint system-packages clean

# Production's requirements and, on top, the tests', benchmarks' and linter's.
$(STAMP): requirements.txt requirements-test.txt | system-packages
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -r requirements-test.txt
	touch $(STAMP)

# CJK fonts for Chinese PDFs, Chromium for the browser tests, poppler for pdftotext; OpenLDAP's
# slapd and tools for the sign-on tests, and the headers python-ldap is built against.
system-packages:
	@missing=""; \
	fc-list 2>/dev/null | grep -q "Noto Sans CJK" || missing="$$missing fonts-noto-cjk"; \
	test -x /usr/bin/chromium || missing="$$missing chromium"; \
	command -v pdftotext >/dev/null || missing="$$missing poppler-utils"; \
	test -x /usr/sbin/slapd || missing="$$missing slapd"; \
	command -v ldapsearch >/dev/null || missing="$$missing ldap-utils"; \
	test -f /usr/include/ldap.h || missing="$$missing libldap2-dev"; \
	test -f /usr/include/sasl/sasl.h || missing="$$missing libsasl2-dev"; \
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

# Each database pass and the date-sensitive clock runs go side by side, each to its own log in
# .test-runs/; the last lines printed are a verdict table naming every run and its failures.
# The OpenID provider of the sign-on tests (Node's oidc-provider, locked in package-lock.json).
oidc-provider:
	cd tests/oidc && npm ci --no-audit --no-fund --silent

test: $(STAMP) system-packages oidc-provider lint
	$(PY) tools/test_suite.py --databases $(TEST_DATABASES) --clocks $(TEST_CLOCKS) --pytest-args "$(PYTEST_ARGS)"

# Only the date-sensitive tests, at one moment: make test-clock CLOCK=2027-01-01T10:00+08:00
test-clock: $(STAMP)
	GRIDCARE_TEST_DB=sqlite $(PY) -m pytest -q -m date_sensitive --clock=$(CLOCK) $(PYTEST_ARGS)

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
