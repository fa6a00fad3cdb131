"""Request ids in tasks run eagerly (no broker: the quick start). A worker's tasks
take the id from their message (tests/deploy/test_compose_stack.py);
an eager task runs inside the request and must leave the request its id."""

import json
import os
import subprocess
import sys
import uuid

from tests.support.processes import ROOT

SCRIPT = """
import sys
import django
django.setup()
from django.conf import settings
from django.http import HttpResponse
from django.test import RequestFactory
from django_guid import get_guid
from django_guid.middleware import guid_middleware
from config.celery import app

@app.task
def id_seen_by_task():
    return get_guid()

def view(request):
    return HttpResponse(id_seen_by_task.delay().get())

request = RequestFactory().get("/", headers={"X-Request-ID": sys.argv[1]})
response = guid_middleware(view)(request)
print(json.dumps({
    "eager": settings.CELERY_TASK_ALWAYS_EAGER,
    "task": response.content.decode(),
    "response": response["X-Request-ID"],
}))
"""


def test_an_eager_task_runs_under_its_request_id_and_leaves_it_to_the_request():
    env = {k: v for k, v in os.environ.items() if k != "CELERY_BROKER_URL"}
    request_id = uuid.uuid4().hex
    result = subprocess.run(
        [sys.executable, "-c", "import json\n" + SCRIPT, request_id],
        cwd=ROOT, env={**env, "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    # The last line is the script's; any log lines before it are the site's.
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen == {"eager": True, "task": request_id, "response": request_id}
