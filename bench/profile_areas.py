"""Where a request's time goes, by named area, for bench/profile_requests.py.

pyinstrument samples the stack every millisecond; each area is one function,
and its time is everything below it, so areas nest as the calls do. Its hook
on every call slows many-small-call code (templates) about twofold, as
cProfile does: its shares overstate rendering, so bench/profile_requests.py
also times the big parts without it.
"""

from benchlib import OUT
from pyinstrument import Profiler

# (label, file ending, function): cumulative time of each, as a share of the
# handler's. Names are today's: an area whose function is renamed drops out of the
# report (fix its line here).
AREAS = [
    ("whole request (handler)", "django/core/handlers/base.py", "get_response"),
    ("view function", "campaign/views.py", "campaign_detail"),
    ("  campaign query", "django/shortcuts.py", "get_object_or_404"),
    ("  targets query", "campaign/selectors.py", "campaign_targets"),
    ("  signing state", "campaign/selectors.py", "campaign_signing_state"),
    ("    letter template checked", "campaign/selectors.py", "_letter_renders"),
    ("  signature count (Redis)", "campaign/selectors.py", "signature_counts"),
    ("  letter previews", "campaign/previews.py", "letter_previews"),
    ("  SignForm()", "campaign/forms.py", "__init__"),
    ("  form validation", "django/forms/forms.py", "full_clean"),
    ("    letter text rules", "campaign/validators.py", "validate_text_block"),
    ("  campaign_sign service", "campaign/services/signing.py", "campaign_sign"),
    (
        "    INSERT … ON CONFLICT (or lock)",
        "campaign/services/signing.py",
        "_inserted_or_existing",
    ),
    (
        "    email rendered",
        "campaign/services/confirmation_emails.py",
        "confirmation_email_build",
    ),
    (
        "    outbox row",
        "campaign/services/confirmation_emails.py",
        "confirmation_email_queue",
    ),
    ("    COMMIT", "django/db/backends/base/base.py", "commit"),
    ("    Celery publish", "celery/app/task.py", "apply_async"),
    ("template rendering", "django/template/loader.py", "render_to_string"),
    ("page from the cache", "campaign/page_cache.py", "cached_response"),
    ("  {% crispy form %}", "crispy_forms/templatetags/crispy_forms_tags.py", "render"),
    ("    widget templates", "django/forms/renderers.py", "render"),
    ("SQL execute (all queries)", "django/db/backends/utils.py", "_execute"),
    ("CSRF token", "django/middleware/csrf.py", "get_token"),
    ("CSRF check (parses the body)", "django/middleware/csrf.py", "process_view"),
    ("session save", "django/contrib/sessions/backends/db.py", "save"),
    ("logging handlers", "logging/__init__.py", "callHandlers"),
]


def area_times(root) -> dict[str, float]:
    """Seconds inside each area: a frame that matches counts once with all below
    it (a recursive template node is not counted again inside itself)."""
    totals: dict[str, float] = {}
    stack = [(root, frozenset())]
    while stack:
        frame, inside = stack.pop()
        for label, ending, function in AREAS:
            if (
                label not in inside
                and frame.function == function
                and (frame.file_path or "").endswith(ending)
            ):
                totals[label] = totals.get(label, 0.0) + frame.time
                inside = inside | {label}
        stack.extend((child, inside) for child in frame.children)
    return totals


def profiled(request, n: int, name: str) -> dict:
    """Call request() n times under pyinstrument: the time per request in each
    area, and the call tree in bench/out/profile-<name>.txt."""
    profiler = Profiler(interval=0.001)
    profiler.start()
    for _ in range(n):
        request()
    profiler.stop()
    totals = area_times(profiler.last_session.root_frame(trim_stem=False))
    whole = totals.get(AREAS[0][0]) or 1.0
    # "ms per request (share of the handler)"; areas this request never enters
    # are left out.
    areas = {
        label: f"{1000 * totals[label] / n:.2f} ms ({100 * totals[label] / whole:.0f}%)"
        for label, *_ in AREAS
        if label in totals
    }
    (OUT / f"profile-{name}.txt").write_text(profiler.output_text(show_all=False))
    return {"ms_per_request_profiled": round(1000 * whole / n, 2), "areas": areas}
