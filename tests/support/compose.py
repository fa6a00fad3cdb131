"""Read docker-compose.yml, .env.example and the Dockerfile the way Docker would, so
tests can check them and run their very commands without a Docker engine."""

import os
import re
import secrets
import shlex
import sys
from pathlib import Path

import yaml

from tests.support.processes import ROOT

COMPOSE_FILE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
DOCKERFILE = ROOT / "Dockerfile"
# Where the settings read the environment (settings.py and the gunicorn config).
SETTINGS_FILES = [ROOT / "config" / "settings.py", ROOT / "config" / "gunicorn.py"]

APP_SERVICES = ("migrate", "web", "worker", "beat")


def load_compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def read_env_file(path: Path = ENV_EXAMPLE) -> dict[str, str]:
    """The variables an env file sets (commented-out lines set nothing)."""
    values = {}
    for line in path.read_text().splitlines():
        match = re.fullmatch(r"([A-Z][A-Z0-9_]*)=(.*)", line.strip())
        if match:
            values[match[1]] = match[2]
    return values


def documented_names(path: Path = ENV_EXAMPLE) -> set[str]:
    """Every variable an env file mentions as `NAME=`, set or commented out."""
    return set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", path.read_text(), re.M))


_ENV_READ = re.compile(
    r"""\benv(?:\.\w+)?\(\s*["']([A-Z][A-Z0-9_]*)["']"""  # env.int("X", ...), env("X")
    r"""|os\.environ(?:\.get)?[\[(]\s*["']([A-Z][A-Z0-9_]*)["']"""
    r"""|os\.getenv\(\s*["']([A-Z][A-Z0-9_]*)["']"""
)


def env_reads(paths=SETTINGS_FILES) -> set[str]:
    """Names of the environment variables the given Python files read."""
    names = set()
    for path in paths:
        for match in _ENV_READ.finditer(Path(path).read_text()):
            names.add(next(group for group in match.groups() if group))
    return names


_VARIABLE = re.compile(
    r"\$(?:(?P<escaped>\$)|\{(?P<name>\w+)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}"
    r"|(?P<bare>\w+))"
)


def interpolate(text: str, variables: dict[str, str]) -> str:
    """Compose's ${...} substitution: $$ is a literal $, ${X:-d} a default,
    ${X:?msg} an error when X is unset or empty."""

    def replace(match: re.Match) -> str:
        if match["escaped"]:
            return "$"
        name = match["name"] or match["bare"]
        op, arg = match["op"], match["arg"]
        value = variables.get(name)
        missing = value is None or (value == "" and op and op.startswith(":"))
        if op in (":-", "-"):
            return arg if missing else value
        if op in (":?", "?"):
            if missing:
                raise ValueError(f"compose refuses to start: {name}: {arg}")
            return value
        if op in (":+", "+"):
            return "" if missing else arg
        return value or ""

    return _VARIABLE.sub(replace, text)


def dev_profile_lines(path: Path = ENV_EXAMPLE) -> dict[str, str]:
    """The commented-out variables of .env.example's dev-profile block."""
    text = path.read_text()
    block = text[text.index("the dev profile") :]
    block = block[: block.index("\n\n")]
    return dict(re.findall(r"^# ([A-Z][A-Z0-9_]*)=(.*)$", block, re.M))


def compose_variables() -> set[str]:
    """Names docker-compose.yml takes from .env (`${X}`) or hands to a container
    shell (`$${X}`)."""
    return set(re.findall(r"\$\$?\{(\w+)", COMPOSE_FILE.read_text()))


def service_environment(service: dict, dotenv: dict[str, str]) -> dict[str, str]:
    """A container's environment: env_file (.env), then `environment:` on top."""
    env = dict(dotenv)
    for name, value in (service.get("environment") or {}).items():
        env[name] = interpolate(str(value), dotenv)
    return env


def service_command(service: dict) -> list[str]:
    """The argv compose runs (list form; `$$` reaches the container as `$`)."""
    command = service["command"]
    if isinstance(command, str):
        command = shlex.split(command)
    return [interpolate(str(part), {}) for part in command]


def compose_env(service: str = "web", **overrides) -> dict[str, str]:
    """The container's environment as compose builds it from .env.example, after
    the operator filled in the required values; nothing from this test process."""
    dotenv = read_env_file() | {
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "POSTGRES_PASSWORD": secrets.token_hex(16),
        "EMAIL_HOST": "smtp.example.org",
    }
    env = service_environment(load_compose()["services"][service], dotenv)
    return {
        "PATH": f"{os.path.dirname(sys.executable)}:/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        **env,
        **overrides,
    }


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text())
    pairs = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            instruction, _, args = line.partition(" ")
            pairs.append((instruction.upper(), args.strip()))
    return pairs
