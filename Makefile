# Quillpost: the commands a newcomer needs. `make demo` and `make test` are the two
# set-up commands in README.md; each installs what it needs first.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin

# The suite runs against the real services on this machine (CONTRIBUTING.md, "Tests"),
# with the abuse limits off: tests post at once; the abuse tests turn them on.
# DEBUG is off like production, with mail to the console or the tests' own SMTP
# sink: deliberate, so the check that forbids that in production
# (quillpost.E001) is told so; tests/deploy/test_email_check.py turns it back on.
# Bytecode is written (to the git-ignored __pycache__) even where the environment
# says not to: pytest keeps its rewritten test modules there, and the suite starts
# dozens of Python processes that import the project; recompiling it all costs
# seconds a run.
TEST_ENV := DATABASE_URL=$${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test} \
	CELERY_BROKER_URL=$${TEST_BROKER_URL:-redis://127.0.0.1:6379/14} \
	CACHE_URL=$${TEST_CACHE_URL:-redis://127.0.0.1:6379/15} \
	DJANGO_SECRET_KEY=test-only-not-secret DJANGO_DEBUG=0 EMAIL_ALLOW_TEST_SINK=1 \
	DJANGO_SECURE_SSL_REDIRECT=0 DJANGO_SECURE_COOKIES=0 RATELIMIT_ENABLE=0 \
	STATIC_ROOT=$${TEST_STATIC_ROOT:-$(CURDIR)/.test-static} \
	MEDIA_ROOT=$${TEST_MEDIA_ROOT:-$(CURDIR)/.test-media} PYTHONDONTWRITEBYTECODE=

.PHONY: install install-dev demo run worker beat test screenshots lint format

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)

$(VENV)/.installed: requirements.txt $(BIN)/python
	$(BIN)/pip install -q -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt package.json $(BIN)/python
	$(BIN)/pip install -q -r requirements-dev.txt
	npm install --no-audit --no-fund --silent
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

## Quick start: SQLite, console email, eager tasks, demo data, an admin login.
demo: install
	DJANGO_DEBUG=1 $(BIN)/python manage.py migrate --noinput
	DJANGO_DEBUG=1 $(BIN)/python manage.py load_demo --create-admin
	DJANGO_DEBUG=1 $(BIN)/python manage.py runserver 127.0.0.1:8000

## The site against whatever the environment names (CONTRIBUTING.md: dev.env).
run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py runserver 127.0.0.1:8000

worker: install
	$(BIN)/celery -A config worker -l info

beat: install
	$(BIN)/celery -A config beat -l info

## The whole suite on PostgreSQL, Redis, a Celery worker, aiosmtpd and Chromium.
test: install-dev
	@# The local services, unless the run is pointed at others.
	if [ -z "$$TEST_DATABASE_URL$$TEST_BROKER_URL$$TEST_CACHE_URL" ]; then bash .ci/services-up; fi
	@# The migrations check and collectstatic at once (a second each), then pytest.
	DJANGO_DEBUG=1 $(BIN)/python manage.py makemigrations --check --dry-run & \
	$(TEST_ENV) $(BIN)/python manage.py collectstatic --noinput -v0 && wait $$!
	$(TEST_ENV) $(BIN)/pytest $(PYTEST_ARGS)

## README's two pictures, from the demo, in headless Chromium (docs/screenshots.py).
SCREENSHOT_DIR ?= docs/screenshots
screenshots: install-dev
	$(BIN)/python docs/screenshots.py --out $(SCREENSHOT_DIR)

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .
