"""The Content-Security-Policy in a real browser: Chromium with the policy
enforced, over pages served as in production (whitenoise, hashed names)."""

import io
import re

from django.core.management import call_command

from campaign import demo
from campaign.models import Campaign


def test_pages_and_admin_work_under_the_csp(live_server, browser, django_user_model):
    """Chromium with the CSP enforced (the shared `page` fixture bypasses it for
    axe): no page of the site or the admin may trip it."""
    base = live_server.url
    call_command("load_demo", stdout=io.StringIO())
    django_user_model.objects.create_superuser(
        "csp-admin", "csp-admin@example.org", "pw-csp-admin-123"
    )
    context = browser.new_context()
    # Every violation on every page, as the page's own event reports it (a
    # binding and an init script come from the browser, outside the policy).
    violations: list[str] = []
    context.expose_function("reportCspViolation", lambda v: violations.append(v))
    context.add_init_script(
        "document.addEventListener('securitypolicyviolation', e =>"
        " window.reportCspViolation(e.violatedDirective + ' ' + e.blockedURI));"
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    console_errors: list[str] = []
    page.on(
        "console",
        lambda m: console_errors.append(m.text) if m.type == "error" else None,
    )
    try:
        response = page.goto(f"{base}/")
        assert "default-src 'self'" in response.headers["content-security-policy"]
        page.get_by_role("link", name=re.compile("Litvinenko", re.I)).first.click()
        page.wait_for_load_state("load")
        assert page.locator("form#sign-form").count() == 1
        # Our stylesheets loaded (Bootstrap and the site's own).
        assert page.evaluate("document.styleSheets.length") >= 2
        assert (
            page.evaluate(
                "getComputedStyle(document.querySelector('.skip-link')).position"
            )
            == "absolute"
        )

        # The live preview: site.js posts the form to /preview/ and swaps in the
        # fragment, all under script-src/connect-src 'self'.
        preview = page.locator("#letter-preview")
        assert "Quentin Previewson" not in preview.inner_text()
        with page.expect_response(re.compile(r"/preview/$")) as previewed:
            page.get_by_label("Full name").fill("Quentin Previewson")
            page.get_by_label("Your own paragraph (optional)").fill(
                "My town remembers him."
            )
        assert previewed.value.status == 200
        page.wait_for_function(
            "() => { const t = document.getElementById('letter-preview').innerText;"
            " return t.includes('Quentin Previewson')"
            " && t.includes('My town remembers him.'); }"
        )
        assert preview.get_attribute("data-updated")  # swapped in by the script
        assert violations == [] and console_errors == []

        page.goto(f"{base}/admin/")
        page.get_by_label("Username").fill("csp-admin")
        page.get_by_label("Password").fill("pw-csp-admin-123")
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(f"{base}/admin/")
        campaign = Campaign.objects.get(slug=demo.DEMO_SLUG)
        # The pages with the most JavaScript and custom templates.
        for path in (
            "/admin/campaign/campaign/",
            f"/admin/campaign/campaign/{campaign.pk}/change/",
            f"/admin/letters/lettertemplate/{campaign.letter_template_id}/change/",
            "/admin/campaign/signature/",
            "/admin/campaign/letter/",
        ):
            response = page.goto(f"{base}{path}")
            assert response.status == 200, path
            # The admin's own script ran (theme.js marks <html>) and its
            # stylesheet gave the header a background.
            assert page.evaluate("document.documentElement.dataset.theme") == "auto"
            header = page.evaluate(
                "getComputedStyle(document.querySelector('#header')).backgroundColor"
            )
            assert header not in ("", "rgba(0, 0, 0, 0)"), path
        # The admin's pages name no favicon, so Chromium's /favicon.ico 404 is a
        # console error there; only the policy's own reports are checked.
        assert violations == []
        assert [e for e in console_errors if "Content Security Policy" in e] == []
    finally:
        context.close()
