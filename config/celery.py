"""The Celery app: `celery -A config worker` and `celery -A config beat`.

Every CELERY_* setting lives in config/settings.py so that it comes from the
environment like everything else:

- "--- Celery ---": the broker (CELERY_BROKER_URL; unset runs tasks eagerly, for
  the quick start only), JSON only, time limits, task_acks_late with
  task_reject_on_worker_lost (a task whose worker dies is redelivered, not lost);
- "--- Delivery ---": the beat schedule (the outbox sweeper) and the Redis
  visibility_timeout, which depend on the delivery delays defined there.

Django processes load this module from campaign/apps.py, not config/__init__.py,
so that importing the settings loads no Celery. The request id travels with each
task through django-guid's Celery integration (DJANGO_GUID in the settings),
whose signal receivers are connected when Django's apps are ready.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("quillpost")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
