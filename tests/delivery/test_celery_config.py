"""The Celery settings delivery's guarantees rest on, as the worker loads them
(config.celery's app.conf); losing any of them could lose, repeat or stall mail.
Plain reads of the configuration: no worker needed."""

from django.conf import settings

from campaign.services.delivery import THROTTLE_WINDOW
from campaign.tasks import digests_send_task, outbox_sweep_task
from config.celery import app

conf = app.conf


def test_only_json_crosses_the_queue():
    # A pickle-accepting worker runs whatever a broker client sends it.
    assert conf.task_serializer == "json"
    assert conf.result_serializer == "json"
    assert list(conf.accept_content) == ["json"]


def test_a_message_is_removed_only_once_its_task_has_finished():
    assert conf.task_acks_late is True
    # …including when the worker process dies mid-task (SIGKILL, OOM).
    assert conf.task_reject_on_worker_lost is True
    # One message at a time per process: a busy process holds no queue hostage.
    assert conf.worker_prefetch_multiplier == 1


def test_a_hung_send_is_stopped_before_the_sweeper_calls_its_row_stuck():
    soft, hard = conf.task_soft_time_limit, conf.task_time_limit
    assert 0 < soft < hard
    # A row "sending" longer than this is reset and sent again; a task still
    # running then could send a second copy.
    assert hard < settings.DELIVERY_STUCK_AFTER_SECONDS


def test_no_countdown_outlives_the_visibility_timeout():
    """The rule countdown() enforces (campaign/services/delivery/policy.py), as
    the worker loads its configuration."""
    visibility = conf.broker_transport_options["visibility_timeout"]
    bound = settings.DELIVERY_COUNTDOWN_MAX_SECONDS
    assert bound >= settings.DELIVERY_RETRY_MAX_SECONDS
    # A letter over the throttle waits up to one window for the first free slot.
    assert bound >= THROTTLE_WINDOW.total_seconds()
    assert visibility >= bound + 3600  # an hour's margin for queueing delays


def test_beat_runs_the_sweeper_at_the_configured_interval():
    entry = conf.beat_schedule["outbox-sweep"]
    assert entry["task"] == "campaign.tasks.outbox_sweep_task"
    # Beat publishes by name: a misspelt one would be scheduled and never run.
    assert app.tasks[entry["task"]].run is outbox_sweep_task.run
    assert entry["schedule"] == settings.DELIVERY_SWEEP_INTERVAL_SECONDS
    # A sweep still waiting when the next is due is dropped, not stacked up.
    assert entry["options"]["expires"] == settings.DELIVERY_SWEEP_INTERVAL_SECONDS


def test_beat_runs_the_daily_digests_by_a_task_that_exists():
    entry = conf.beat_schedule["daily-digests"]
    assert app.tasks[entry["task"]].run is digests_send_task.run
    assert entry["schedule"].hour == {settings.DIGEST_SEND_HOUR}


def test_beat_rebuilds_the_dashboards_at_the_configured_interval():
    from campaign.tasks import tallies_refresh_task

    entry = conf.beat_schedule["dashboard-tallies"]
    assert app.tasks[entry["task"]].run is tallies_refresh_task.run
    assert entry["schedule"] == settings.DASHBOARD_REFRESH_SECONDS
    assert entry["options"]["expires"] == settings.DASHBOARD_REFRESH_SECONDS
