"""docker-compose.yml, the Dockerfile and .env.example, read as Docker reads them.
(tests/deploy/test_compose_stack.py runs the same commands for real.)"""

import json
import os
import re
import shlex
import subprocess
import sys

import pytest
import yaml

from tests.support.compose import (
    APP_SERVICES,
    COMPOSE_FILE,
    ROOT,
    compose_env,
    compose_variables,
    dev_profile_lines,
    dockerfile_instructions,
    documented_names,
    env_reads,
    interpolate,
    load_compose,
    read_env_file,
    service_command,
    service_environment,
)


@pytest.fixture(scope="module")
def services():
    return load_compose()["services"]


def test_the_default_stack_has_no_mail_catcher(services):
    default = {
        name for name, service in services.items() if not service.get("profiles")
    }
    assert default == {"migrate", "web", "worker", "beat", "db", "redis"}


def test_the_dev_profile_adds_mailpit_and_sends_mail_to_it_on_purpose(services):
    assert {name for name, service in services.items() if service.get("profiles")} == {
        "mailpit"
    }
    assert services["mailpit"]["profiles"] == ["dev"]
    dev = dev_profile_lines()
    assert dev == {
        "COMPOSE_PROFILES": "dev", "EMAIL_PORT": "1025", "EMAIL_ALLOW_TEST_SINK": "1"
    }  # fmt: skip
    # The block's "set EMAIL_HOST=mailpit above", then compose's environment.
    env = compose_env(**dev, EMAIL_HOST="mailpit")
    assert (env["EMAIL_HOST"], env["EMAIL_PORT"]) == ("mailpit", "1025")


# The migrate container's email settings: (id, compose variables, passes).
MAIL_CASES = [
    ("smtp-server", {}, True),
    ("mailpit-without-override",
     {"EMAIL_HOST": "mailpit", "EMAIL_PORT": "1025"}, False),
    ("dev-profile", {"EMAIL_HOST": "mailpit", **dev_profile_lines()}, True),
    ("no-email-host", {"EMAIL_HOST": ""}, False),
]  # fmt: skip


@pytest.fixture(scope="module")
def email_checks() -> dict[str, subprocess.CompletedProcess]:
    """`manage.py check --tag email` for every case, all started at once (each
    is a second of Django start-up), by case id."""
    started = {
        case: subprocess.Popen(
            [sys.executable, "manage.py", "check", "--tag", "email"],
            cwd=ROOT,
            env=compose_env("migrate", **dev),
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for case, dev, _ in MAIL_CASES
    }
    finished = {}
    for case, process in started.items():
        stdout, stderr = process.communicate(timeout=60)
        finished[case] = subprocess.CompletedProcess(
            process.args, process.returncode, stdout, stderr
        )
    return finished


@pytest.mark.parametrize(
    ("case", "passes"),
    [(case, passes) for case, _, passes in MAIL_CASES],
    ids=[case for case, _, _ in MAIL_CASES],
)
def test_the_migrate_step_checks_where_mail_goes(email_checks, case, passes):
    """`manage.py check --tag email` in the migrate container's environment (what
    `migrate` runs first): the required EMAIL_HOST filled in passes, mailpit only
    with the dev block's override."""
    result = email_checks[case]
    assert (result.returncode == 0) is passes, result.stderr
    assert ("quillpost.E001" in result.stderr) is not passes


def test_every_container_log_rotates(services):
    for name, service in services.items():
        assert service["logging"] == {
            "driver": "json-file", "options": {"max-size": "10m", "max-file": "5"}
        }, name  # fmt: skip


def test_app_services_share_one_definition_through_the_anchor():
    """migrate/web/worker/beat each merge the `x-app` node itself (`<<: *app`),
    so the image, env file and addresses are written once."""
    root = yaml.compose(COMPOSE_FILE.read_text())
    top = {key.value: value for key, value in root.value}
    app_node = top["x-app"]
    service_nodes = {key.value: value for key, value in top["services"].value}
    for name in APP_SERVICES:
        merged = [v for k, v in service_nodes[name].value if k.value == "<<"]
        assert merged == [app_node], name


def test_app_services_get_the_same_image_env_and_addresses(services):
    app = load_compose()["x-app"]
    assert app["build"] == "." and app["env_file"] == ".env"
    for name in APP_SERVICES:
        assert services[name]["build"] == "."
        assert services[name]["env_file"] == ".env"
        assert services[name]["environment"] == app["environment"]
    env = app["environment"]
    assert env["DATABASE_URL"].startswith("postgres://quillpost:${POSTGRES_PASSWORD:?")
    assert env["DATABASE_URL"].endswith("@db:5432/quillpost")
    assert env["CELERY_BROKER_URL"] == "redis://redis:6379/0"
    assert env["CACHE_URL"] == "redis://redis:6379/1"
    # Email is .env's alone: compose neither defaults nor overrides it.
    assert not [name for name in env if name.startswith("EMAIL_")]
    assert read_env_file()["EMAIL_HOST"] == "", "EMAIL_HOST is a required value"


def test_commands(services):
    dockerfile_cmd = json.loads(dict(dockerfile_instructions())["CMD"])
    assert service_command(services["web"]) == dockerfile_cmd == [
        "gunicorn", "--config", "config/gunicorn.py", "config.wsgi"
    ]  # fmt: skip
    # --quiet drops the banner: stdout carries JSON lines only.
    assert service_command(services["worker"])[:5] == [
        "celery", "-A", "config", "--quiet", "worker"
    ]  # fmt: skip
    beat = service_command(services["beat"])
    assert beat[:5] == ["celery", "-A", "config", "--quiet", "beat"]
    # The image's code directory is read-only for the app user.
    assert "--schedule=/tmp/celerybeat-schedule" in beat
    assert services["migrate"]["restart"] == "no"
    assert "ports" not in services["worker"] and "ports" not in services["beat"]


@pytest.mark.parametrize(
    ("load_demo", "expected"),
    [
        (None, [["manage.py", "migrate", "--noinput"]]),
        ("0", [["manage.py", "migrate", "--noinput"]]),
        ("1", [["manage.py", "migrate", "--noinput"], ["manage.py", "load_demo"]]),
    ],
)
def test_migrate_step_loads_the_demo_only_when_asked(
    services, tmp_path, load_demo, expected
):
    """Runs the service's shell script with `python` recording its arguments (the
    real commands run in test_compose_stack.py)."""
    calls = tmp_path / "calls"
    fake = tmp_path / "bin" / "python"
    fake.parent.mkdir()
    fake.write_text(f'#!/bin/sh\necho "$*" >> {calls}\n')
    fake.chmod(0o755)
    env = {"PATH": f"{fake.parent}:/usr/bin:/bin"}
    if load_demo is not None:
        env["LOAD_DEMO"] = load_demo
    subprocess.run(service_command(services["migrate"]), env=env, check=True)
    assert [line.split() for line in calls.read_text().splitlines()] == expected


def test_migrate_runs_before_the_app_and_after_the_database(services):
    assert services["migrate"]["depends_on"] == {"db": {"condition": "service_healthy"}}
    for name in ("web", "worker", "beat"):
        depends = services[name]["depends_on"]
        assert depends["migrate"] == {"condition": "service_completed_successfully"}
        assert depends["redis"] == {"condition": "service_healthy"}


def test_healthchecks(services):
    def check(name):
        healthcheck = services[name]["healthcheck"]
        assert {"interval", "timeout", "retries"} <= set(healthcheck), name
        return healthcheck["test"]

    assert check("db") == ["CMD-SHELL", "pg_isready -U quillpost -d quillpost"]
    assert check("redis") == ["CMD", "redis-cli", "ping"]
    assert check("web") == ["CMD", "python", "-m", "config.health"]
    worker = check("worker")
    assert worker[0] == "CMD-SHELL"
    assert shlex.split(interpolate(worker[1], {}))[:5] == [
        "celery", "-A", "config", "inspect", "ping"
    ]  # fmt: skip
    assert "celery@$HOSTNAME" in interpolate(worker[1], {})
    assert check("mailpit") == ["CMD", "/mailpit", "readyz"]


def test_data_lives_in_named_volumes(services):
    volumes = load_compose()["volumes"]
    assert services["db"]["volumes"] == ["pgdata:/var/lib/postgresql/data"]
    assert services["redis"]["volumes"] == ["redisdata:/data"]
    assert set(volumes) == {"pgdata", "redisdata", "media"}
    # The app's one state of its own is MEDIA_ROOT (hand-in packs), a shared
    # volume, so `--scale worker=4` still just works.
    for name in APP_SERVICES:
        assert services[name]["volumes"] == ["media:/app/media"]


def test_images_are_pinned(services):
    assert services["db"]["image"] == "postgres:15"
    assert services["redis"]["image"] == "redis:7"
    assert services["mailpit"]["image"].startswith("axllent/mailpit:v1.")


def test_redis_never_evicts_and_persists(services):
    command = services["redis"]["command"]
    assert command[0] == "redis-server"
    flags = dict(zip(command[1::2], command[2::2], strict=True))
    assert flags == {"--maxmemory-policy": "noeviction", "--appendonly": "yes"}


def test_published_ports_stay_on_loopback(services):
    assert services["web"]["ports"] == ["${WEB_ADDRESS:-127.0.0.1:8000}:8000"]
    assert interpolate(services["web"]["ports"][0], {}) == "127.0.0.1:8000:8000"
    assert services["mailpit"]["ports"] == ["127.0.0.1:8025:8025"]
    for name in ("db", "redis", "worker", "beat", "migrate"):
        assert "ports" not in services[name], name


def test_secrets_come_from_the_uncommitted_env_file(services):
    ignored = (ROOT / ".gitignore").read_text().splitlines()
    assert ".env" in ignored
    assert ".env" in (ROOT / ".dockerignore").read_text().splitlines()
    # Compose refuses to start without a database password; none is written here.
    assert services["db"]["environment"]["POSTGRES_PASSWORD"].startswith(
        "${POSTGRES_PASSWORD:?"
    )
    with pytest.raises(ValueError, match="POSTGRES_PASSWORD"):
        service_environment(services["web"], {"POSTGRES_PASSWORD": ""})
    example = read_env_file()
    assert example["DJANGO_SECRET_KEY"] == "" and example["POSTGRES_PASSWORD"] == ""


def test_every_variable_the_settings_read_is_in_env_example():
    read = env_reads()
    # The scan itself must work: these are read in config/settings.py for sure.
    assert {"DJANGO_SECRET_KEY", "DATABASE_URL", "CELERY_BROKER_URL"} <= read
    assert {"DJANGO_SECURE_HSTS_SECONDS", "WEB_CONCURRENCY"} <= read
    assert not read - documented_names(), "add these to .env.example"


# Read by the docker compose command itself, not by the site or the compose file.
COMPOSE_CLI_VARIABLES = {"COMPOSE_PROFILES"}


def test_env_example_mentions_nothing_that_is_not_read():
    stale = (
        documented_names() - env_reads() - compose_variables() - COMPOSE_CLI_VARIABLES
    )
    assert not stale, "nothing reads these any more"


def test_env_reads_scan_finds_every_form(tmp_path):
    source = tmp_path / "s.py"
    source.write_text(
        'A = env("ONE")\nB = env.int(\n    "TWO", default=1)\n'
        'C = os.environ.get("THREE")\nD = os.environ["FOUR"]\nE = os.getenv("FIVE")\n'
    )
    assert env_reads([source]) == {"ONE", "TWO", "THREE", "FOUR", "FIVE"}


def test_dockerfile(tmp_path):
    instructions = dockerfile_instructions()
    assert instructions[0] == ("FROM", "python:3.11-slim")
    runs = [args for op, args in instructions if op == "RUN"]
    collect = next(args for args in runs if "collectstatic" in args)
    assert collect.startswith("DJANGO_SECRET_KEY=")
    users = [args for op, args in instructions if op == "USER"]
    assert users and users[-1] not in ("root", "0")
    # The last USER comes after everything that needs root.
    last_user = max(i for i, (op, _) in enumerate(instructions) if op == "USER")
    assert all(op != "RUN" for op, _ in instructions[last_user:])
    # Nothing secret or bulky is sent to the build.
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    assert {".git", ".env", ".venv", "node_modules"} <= set(ignored)


def test_web_healthcheck_probe_uses_the_site_host_name():
    """`python -m config.health` against nothing listening: exit 1, said why."""
    env = {
        **os.environ,
        "GUNICORN_BIND": "127.0.0.1:9",  # discard port: nothing answers
        "DJANGO_ALLOWED_HOSTS": "campaign.example.org",
    }
    result = subprocess.run(
        [sys.executable, "-m", "config.health"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert result.returncode == 1
    assert "unhealthy" in result.stdout


def test_devservices_listen_on_loopback_where_make_test_looks():
    """compose.devservices.yml: PostgreSQL and Redis for developers off Debian, at
    the addresses the Makefile's test environment uses by default."""
    dev = yaml.safe_load((ROOT / "compose.devservices.yml").read_text())["services"]
    assert dev["postgres"]["ports"] == ["127.0.0.1:5432:5432"]
    assert dev["redis"]["ports"] == ["127.0.0.1:6379:6379"]
    assert dev["postgres"]["environment"]["POSTGRES_USER"] == "postgres"
    makefile = (ROOT / "Makefile").read_text()
    assert "postgres://postgres@127.0.0.1:5432/test" in makefile
    assert "redis://127.0.0.1:6379/14" in makefile


def test_the_configuration_table_says_which_variables_compose_overrides():
    """compose's `environment:` wins over .env: the guide must say so for each."""
    guide = (ROOT / "docs" / "deploy.md").read_text()
    rows = {
        re.match(r"\| `(\w+)`", line)[1]: line
        for line in guide[guide.index("\n## Configuration\n") :].splitlines()
        if re.match(r"\| `\w+`", line)
    }
    overridden = load_compose()["x-app"]["environment"]
    assert set(overridden) == {"DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL"}
    for name in overridden:
        assert "Set by compose" in rows[name], name
