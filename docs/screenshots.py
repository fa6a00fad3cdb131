"""Screenshots for README.md, taken from the demo: `make screenshots`.

Builds the demo in a throw-away SQLite database (as `make demo` does), serves it
with runserver on a free loopback port, and photographs the campaign page and the
admin's campaign list in headless Chromium through Playwright. Writes
campaign.png and admin.png into SCREENSHOT_DIR (default docs/screenshots/); run it
again whenever those pages change, and commit the two files.

    python docs/screenshots.py [--out DIR]
"""

import argparse
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEMO_PATH = "/campaigns/litvinenko-sanctions/"
ADMIN_PATH = "/admin/campaign/campaign/"
CHROMIUM_PATH = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def manage(*args: str, env: dict[str, str]) -> None:
    subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True,
        stdout=subprocess.DEVNULL,
    )  # fmt: skip


def wait_for(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except (urllib.error.URLError, ConnectionError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def photograph(base: str, password: str, out: Path) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM_PATH, args=["--no-sandbox", "--disable-gpu"]
        )
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.goto(base + DEMO_PATH)
        page.screenshot(path=out / "campaign.png")
        page.goto(base + ADMIN_PATH)  # redirected to the login form
        page.fill("#id_username", "admin")
        page.fill("#id_password", password)
        page.click("input[type=submit]")
        page.wait_for_url(base + ADMIN_PATH)
        page.screenshot(path=out / "admin.png")
        browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(os.environ.get("SCREENSHOT_DIR") or ROOT / "docs/screenshots"),
    )
    out = parser.parse_args().out
    out.mkdir(parents=True, exist_ok=True)
    password = secrets.token_urlsafe(16)
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        # The quick start's configuration: SQLite, console email, eager tasks.
        env = {
            "PATH": os.environ["PATH"],
            "HOME": os.environ.get("HOME", tmp),
            "LANG": "C.UTF-8",
            "DJANGO_DEBUG": "1",
            "DATABASE_URL": f"sqlite:///{tmp}/demo.sqlite3",
            "LOG_LEVEL": "WARNING",
            "DJANGO_SUPERUSER_USERNAME": "admin",
            "DJANGO_SUPERUSER_EMAIL": "admin@example.org",
            "DJANGO_SUPERUSER_PASSWORD": password,
        }
        manage("migrate", "--noinput", env=env)
        manage("load_demo", env=env)
        manage("createsuperuser", "--noinput", env=env)
        server = subprocess.Popen(
            [sys.executable, "manage.py", "runserver", "--noreload",
             f"127.0.0.1:{port}"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            base = f"http://127.0.0.1:{port}"
            wait_for(base + DEMO_PATH)
            photograph(base, password, out)
        finally:
            server.terminate()
            server.wait(timeout=30)
    for name in ("campaign.png", "admin.png"):
        print(out / name, (out / name).stat().st_size, "bytes")


if __name__ == "__main__":
    main()
