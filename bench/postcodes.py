"""Benchmark: `manage.py import_postcodes` of 2,600,000 generated postcodes, and the
lookup at that size (issue 18: import ≤ 120 s with peak RSS ≤ 200 MB, lookup < 2 ms).

    .venv/bin/python bench/postcodes.py                    # 2.6M rows, 3 imports
    .venv/bin/python bench/postcodes.py --rows 200000 --runs 1   # a quick look

It creates its own PostgreSQL database (default qp_bench_postcodes; dropped at the
end unless --keep), migrates it, creates 650 areas (a parliament's worth) and
writes a CSV shaped like the ONS postcode directory's extract: `pcds` ("SW1A 1AA"
form), `pcd` (compact), `pcon` (the area code), `lat`, `long`, `doterm`; districts
of about 900 postcodes in 4 sectors, each district in one area but for one sector
in eight, split between two. Then, alternating so neither gets a warmer cache:

- the floor: `psql -c "\\copy <plain table> FROM file CSV HEADER"`, the file's
  bytes into a table of text columns with no index, no normalising, no swap;
- `manage.py import_postcodes` as a child process (wall time, and peak RSS from
  wait4()'s rusage). The first run creates the dataset, the later ones replace it
  (the swap: the new generation written, the old one deleted).

Then the lookup, in this process through campaign.areas.postcode_areas() (the
one query the sign form runs): 2,000 random full postcodes, 200 unknown ones in
known sectors (the sector fallback) and 200 unknown districts; median and p95.
Figures go to stdout and bench/out/postcodes.json.
"""

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time

from benchlib import (
    OUT,
    PYTHON,
    ROOT,
    add_database_arguments,
    admin_sql,
    django_env,
    run_child,
)

AREAS = 650
DATASET = "Bench postcodes"
LETTERS = "ABCDEFGHJKLMNOPRSTUWYZ"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_database_arguments(parser, db="qp_bench_postcodes")
    parser.add_argument("--rows", type=int, default=2_600_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--lookups", type=int, default=2000)
    return parser.parse_args()


def districts():
    """Outward codes in UK shapes, A9 … AA9A, as many as needed."""
    for first in LETTERS:
        for second in ["", *LETTERS]:
            for number in range(1, 100):
                yield f"{first}{second}{number}"


def write_file(path, rows: int) -> list[str]:
    """The CSV; returns a sample of its full postcodes for the lookups."""
    rng = random.Random(18)
    sample, written = [], 0
    with open(path, "w") as out:
        out.write("pcds,pcd,pcon,lat,long,doterm\n")
        for d, outward in enumerate(districts()):
            area = d % AREAS
            for sector in range(4):
                split = d % 8 == 0 and sector == 0
                for unit in range(225):
                    inward = f"{sector}{LETTERS[unit // 20 % 22]}{LETTERS[unit % 22]}"
                    code = (area + (unit % 2 if split else 0)) % AREAS
                    lat, lon = 50 + rng.random() * 8, -6 + rng.random() * 7
                    out.write(
                        f"{outward} {inward},{outward}{inward},B{code:07d},"
                        f"{lat:.6f},{lon:.6f},\n"
                    )
                    if rng.random() < 0.001:
                        sample.append(f"{outward}{inward}".lower())
                    written += 1
                    if written == rows:
                        return sample
    return sample


def main() -> None:
    args = parse_args()
    db_url = f"{args.server}/{args.db}"
    admin_sql(
        args.server, f"DROP DATABASE IF EXISTS {args.db}", f"CREATE DATABASE {args.db}"
    )
    env = django_env(db_url)
    OUT.mkdir(parents=True, exist_ok=True)
    csv_path = OUT / "postcodes.csv"
    report = {"rows": args.rows, "runs": args.runs, "load_before": os.getloadavg()}
    try:
        started = time.monotonic()
        sample = write_file(csv_path, args.rows)
        report["file_mb"] = round(csv_path.stat().st_size / 1e6, 1)
        report["generate_s"] = round(time.monotonic() - started, 1)
        subprocess.run(
            [PYTHON, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True
        )
        os.environ.update(env)
        sys.path.insert(0, str(ROOT))
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
        import django

        django.setup()
        from django.db import connection

        from campaign.models import Area

        Area.objects.bulk_create(
            Area(code=f"B{n:07d}", name=f"Area {n}") for n in range(AREAS)
        )
        connection.close()  # no transaction of ours beside the import
        psql = ["psql", db_url, "-q", "-c"]
        subprocess.run(
            [
                *psql,
                "CREATE TABLE floor (a text, b text, c text, d text, e text, f text)",
            ],
            check=True,
        )
        command = [
            PYTHON, "manage.py", "import_postcodes", str(csv_path),
            "--dataset", DATASET, "--dataset-version", "2026-08",
            "--postcode-column", "pcds", "--area-column", "pcon",
        ]  # fmt: skip
        floors, imports, peaks = [], [], []
        for run in range(args.runs):
            subprocess.run([*psql, "TRUNCATE floor"], check=True)
            started = time.monotonic()
            subprocess.run(
                [*psql, f"\\copy floor FROM '{csv_path}' CSV HEADER"], check=True
            )
            floors.append(time.monotonic() - started)
            with open(OUT / "postcodes-import.log", "w") as log:
                elapsed, peak = run_child(command, env, log)
            imports.append(elapsed)
            peaks.append(peak)
            print(
                f"run {run + 1}: floor {floors[-1]:.1f} s, import {elapsed:.1f} s, "
                f"peak RSS {peak / 1e6:.1f} MB, load {os.getloadavg()[0]:.2f}",
                flush=True,
            )
        report.update(
            floor_s=[round(x, 2) for x in floors],
            import_s=[round(x, 2) for x in imports],
            peak_rss_mb=[round(x / 1e6, 1) for x in peaks],
            import_median_s=round(statistics.median(imports), 1),
            floor_median_s=round(statistics.median(floors), 1),
            ratio_to_floor=round(
                statistics.median(imports) / statistics.median(floors), 2
            ),
            peak_rss_max_mb=round(max(peaks) / 1e6, 1),
        )
        report["lookup"] = lookups(sample, args.lookups)
        report["load_after"] = os.getloadavg()
    finally:
        csv_path.unlink(missing_ok=True)
        if not args.keep:
            from django.db import connections

            connections.close_all()
            admin_sql(args.server, f"DROP DATABASE IF EXISTS {args.db}")
    (OUT / "postcodes.json").write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))


def lookups(sample: list[str], count: int) -> dict:
    from campaign.areas import postcode_areas
    from campaign.models import PostcodeDataset

    dataset = PostcodeDataset.objects.get(name=DATASET)
    rng = random.Random(2)
    cases = {
        "full postcode": [rng.choice(sample) for _ in range(count)],
        "unknown unit, known sector": [p[:-2] + "XX" for p in sample[:200]],
        "unknown sector, known district": [p[:-3] + "9XX" for p in sample[:200]],
    }
    out = {}
    for name, postcodes in cases.items():
        times, found = [], 0
        for postcode in postcodes:
            started = time.perf_counter()
            result = postcode_areas(dataset_id=dataset.pk, postcode=postcode)
            times.append((time.perf_counter() - started) * 1000)
            found += not result.is_unknown
        times.sort()
        out[name] = {
            "lookups": len(times),
            "found": found,
            "median_ms": round(statistics.median(times), 3),
            "p95_ms": round(times[int(len(times) * 0.95)], 3),
        }
    return out


if __name__ == "__main__":
    main()
