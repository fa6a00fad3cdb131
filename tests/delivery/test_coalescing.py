"""A web process's confirmation emails of one DELIVERY_PUBLISH_WINDOW_SECONDS go
to the worker as one task (campaign/services/delivery/coalescing.py)."""

import os
import re
import subprocess
import sys

from campaign.models import ConfirmationEmail, OutboxStatus
from tests.factories import CampaignFactory
from tests.signing.supporter import sign
from tests.support.processes import ROOT
from tests.support.worker import database_url, wait_for_idle_broker

# The worker's line for each task it takes (another follows when it is done).
RECEIVED = re.compile(r"confirmations_send_task\[[\w-]+\] received")


def test_the_signings_of_one_window_are_one_task_and_every_email_goes_once(
    worker, smtp, broker, settings
):
    settings.DELIVERY_PUBLISH_WINDOW_SECONDS = 0.5
    tasks_before = len(RECEIVED.findall(worker.log()))
    campaign = CampaignFactory()
    addresses = [f"supporter{n}@example.com" for n in range(5)]
    for address in addresses:
        sign(campaign, email=address)

    messages = smtp.wait_for(5)
    wait_for_idle_broker(broker)
    assert sorted(m.envelope_rcpt[0] for m in messages) == addresses
    assert len(RECEIVED.findall(worker.log())) - tasks_before == 1
    assert set(ConfirmationEmail.objects.values_list("status", flat=True)) == {
        OutboxStatus.SENT
    }


def test_a_process_that_exits_within_its_window_publishes_on_the_way_out(
    worker, smtp, broker
):
    """An hour's window, and the process ends at once: its exit hands the email
    over, so it arrives now, not after the sweeper's grace."""
    campaign = CampaignFactory()
    code = (
        "from campaign.models import Campaign; "
        "from tests.signing.supporter import sign; "
        f"sign(Campaign.objects.get(pk={campaign.pk}), email='late@example.com'); "
        "print('signed')"
    )
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "DELIVERY_PUBLISH_WINDOW_SECONDS": "3600",
    }
    done = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "signed" in done.stdout

    [message] = smtp.wait_for(1)
    assert message.envelope_rcpt == ["late@example.com"]
