"""What the suite (and bench/) share to run the real thing: live processes, one
way to wait, the SMTP server, the Celery worker, the browser, HTTP and form
helpers, and the capture of the site's own log lines. Fixtures defined here are
registered in tests/conftest.py."""
