"""The Celery app: `celery -A config worker` and `celery -A config beat`.

Every CELERY_* setting lives in config/settings.py so that it comes from the
environment like everything else:

- "--- Celery ---": the broker (CELERY_BROKER_URL; unset runs tasks eagerly, for
  the quick start only), JSON only, time limits, task_acks_late with
  task_reject_on_worker_lost (a task whose worker dies is redelivered, not lost);
- "--- Delivery ---": the beat schedule (the outbox sweeper) and the Redis
  visibility_timeout, which depend on the delivery delays defined there; the
  daily digests (DIGEST_SEND_TIME) and questionnaires join the schedule below.

Django processes load this module from campaign/apps.py, not config/__init__.py,
so that importing the settings loads no Celery. The request id travels with each
task through django-guid's Celery integration (DJANGO_GUID in the settings),
whose signal receivers are connected when Django's apps are ready.
"""

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("quillpost")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_finalize.connect
def _daily_tasks(sender: Celery, **kwargs) -> None:
    # Here, not in CELERY_BEAT_SCHEDULE: a crontab in the settings would make
    # loading the settings import Celery. After finalize, not after configure:
    # a web process configures the app on its first publish, before the tasks
    # are registered, and `.s()` would then raise NotRegistered there.
    from django.conf import settings

    from campaign.tasks import digests_send_task, questionnaires_send_task

    sender.add_periodic_task(
        crontab(hour=settings.DIGEST_SEND_HOUR, minute=settings.DIGEST_SEND_MINUTE),
        digests_send_task.s(),
        name="daily-digests",
    )
    # Questionnaires: daily, mid-morning site time (beat's clock follows
    # TIME_ZONE), when a supporter is likely to read them; the run itself
    # decides what is due, so the hour is not a setting.
    sender.add_periodic_task(
        crontab(hour=10, minute=30),
        questionnaires_send_task.s(),
        name="daily-questionnaires",
    )
