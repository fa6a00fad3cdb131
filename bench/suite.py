"""How long the test suite takes: `make test` timed, from the start of make to
its end (the migrations check and collectstatic included), and the same tests at
another revision (`--before`, checked out in a temporary git worktree), the two
alternating so that both share whatever else the machine is doing.

    source .testenv   # TEST_DATABASE_URL, TEST_BROKER_URL, TEST_CACHE_URL: never
                      # the default services' databases
    .venv/bin/python bench/suite.py --runs 3 --before main -- tests/exports

Everything after `--` goes to pytest (default: the whole suite). Prints each
run, then the median of each revision and the after/before ratio, with the load
average beside each figure (the machine is shared).
"""

import argparse
import os
import re
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from benchlib import OUT, ROOT

PASSED = re.compile(r"(\d+) passed.* in ([\d.]+)s")


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def timed_run(checkout: Path, label: str, n: int, pytest_args: list[str]) -> dict:
    OUT.mkdir(parents=True, exist_ok=True)
    log = OUT / f"suite-{label}-{n}.log"
    load = load_average()
    started = time.monotonic()
    make_args = f"PYTEST_ARGS=-q -p no:cacheprovider {' '.join(pytest_args)}"
    with log.open("w") as sink:
        code = subprocess.call(
            ["make", "test", make_args],
            cwd=checkout, stdout=sink, stderr=subprocess.STDOUT,
        )  # fmt: skip
    seconds = time.monotonic() - started
    found = PASSED.findall(log.read_text(errors="replace"))
    passed, pytest_seconds = found[-1] if found else ("0", "nan")
    run = {
        "label": label, "make_s": round(seconds, 1), "pytest_s": float(pytest_seconds),
        "passed": int(passed), "exit": code, "load_before": load,
        "load_after": load_average(), "log": str(log),
    }  # fmt: skip
    print(run, flush=True)
    return run


def checkout_of(revision: str, parent: Path) -> Path:
    """A worktree of `revision` sharing this checkout's virtualenv and npm modules."""
    path = parent / "before"
    subprocess.run(
        ["git", "worktree", "add", "--detach", str(path), revision],
        cwd=ROOT, check=True, capture_output=True,
    )  # fmt: skip
    for name in (".venv", "node_modules"):
        (path / name).symlink_to((ROOT / name).resolve())
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--before", help="A git revision to compare with.")
    parser.add_argument("pytest_args", nargs="*")
    args = parser.parse_args()
    if not os.environ.get("TEST_DATABASE_URL"):
        parser.error("set TEST_DATABASE_URL, TEST_BROKER_URL and TEST_CACHE_URL")

    with tempfile.TemporaryDirectory() as tmp:
        before = checkout_of(args.before, Path(tmp)) if args.before else None
        runs = []
        try:
            for n in range(args.runs):
                if before:
                    runs.append(timed_run(before, "before", n, args.pytest_args))
                runs.append(timed_run(ROOT, "after", n, args.pytest_args))
        finally:
            if before:
                subprocess.run(
                    ["git", "worktree", "remove", "--force", str(before)],
                    cwd=ROOT, check=False,
                )  # fmt: skip
    medians = {}
    for label in ("before", "after"):
        mine = [r for r in runs if r["label"] == label]
        if mine:
            medians[label] = statistics.median(r["make_s"] for r in mine)
            print(
                f"{label}: median {medians[label]:.1f} s for make test "
                f"(pytest {statistics.median(r['pytest_s'] for r in mine):.1f} s), "
                f"{mine[0]['passed']} passed, exit codes {[r['exit'] for r in mine]}"
            )
    if len(medians) == 2:
        print(f"after/before: {medians['after'] / medians['before']:.2f}")


if __name__ == "__main__":
    main()
