"""Profile: the CPU of building and handing over one campaign-update copy,
in-process, without PostgreSQL or a network (those are bench/updates.py's).

    .venv/bin/python bench/profile_updates.py            # 1,000 copies, median of 3
    .venv/bin/python bench/profile_updates.py --profile  # and pyinstrument's tree

Its own database (default qp_b_profile_updates, dropped at the end): one update
and --copies rows, loaded as the sender loads them (outbox.load). Then, --runs
times, each copy through what the worker does between the claim and the record:
outbox.build (the message and its checks) and the SMTP backend's _send
(campaign/smtp.py: the envelope's addresses, the MIME flattening) with a
connection that drops the bytes. Prints the median CPU milliseconds per copy
(process time: less swayed by other processes on a busy machine than the wall
clock).
"""

import argparse
import statistics
import time

from benchlib import add_database_arguments, admin_sql, django_env, setup_django
from updates import campaign_with_supporters, new_update


class DroppingConnection:
    def sendmail(self, from_addr, to_addrs, msg):
        return {}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--copies", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="Print a profile.")
    add_database_arguments(parser, db="qp_b_profile_updates")
    args = parser.parse_args()
    admin_sql(
        args.server,
        f'DROP DATABASE IF EXISTS "{args.db}"',
        f'CREATE DATABASE "{args.db}"',
    )
    env = django_env(
        f"{args.server}/{args.db}", SITE_URL="https://quillpost.example.org"
    )
    setup_django(env, migrate=True)
    from django.db import connection

    from campaign.models import UpdateEmail
    from campaign.services.delivery import outbox as delivery
    from campaign.services.delivery.registry import outbox_for
    from campaign.smtp import EmailBackend

    try:
        campaign = campaign_with_supporters("profile", args.copies)
        update = new_update(campaign)
        update.status, update.signature_count = "sent", args.copies
        update.save(update_fields=["status", "signature_count"])
        UpdateEmail.objects.bulk_create(
            UpdateEmail(update=update, signature=s) for s in campaign.signatures.all()
        )
        box = outbox_for(UpdateEmail)
        rows = delivery.load(
            box, list(UpdateEmail.objects.values_list("pk", flat=True))
        )
        backend = EmailBackend()
        backend.connection = DroppingConnection()

        def copies() -> float:
            start = time.process_time()
            for row in rows:
                backend._send(delivery.build(box, row))
            return (time.process_time() - start) * 1000 / len(rows)

        copies()  # warm-up: the per-process caches, as a worker's first batch
        per_copy = [copies() for _ in range(args.runs)]
        print("ms per copy:", [round(ms, 3) for ms in per_copy])
        print(f"median: {statistics.median(per_copy):.3f} ms per copy")
        if args.profile:
            from pyinstrument import Profiler

            with Profiler(interval=0.0002) as profiler:
                copies()
            print(profiler.output_text(show_all=True))
    finally:
        connection.close()
        if not args.keep:
            admin_sql(args.server, f'DROP DATABASE IF EXISTS "{args.db}"')


if __name__ == "__main__":
    main()
