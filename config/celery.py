"""The Celery app: `celery -A config worker` and `celery -A config beat`.

All CELERY_* settings live in config/settings.py so that they come from the
environment like everything else.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("quillpost")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
