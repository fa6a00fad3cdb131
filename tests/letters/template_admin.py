"""Reaching the letter template admin's pages and reading what they show."""

import html
import re

from django.urls import reverse

CHANGELIST = "admin:letters_lettertemplate_changelist"
PREVIEW = "admin:letters_lettertemplate_preview"


def change_url(template) -> str:
    return reverse("admin:letters_lettertemplate_change", args=[template.pk])


def template_form(template, **changes) -> dict:
    data = {
        "name": template.name,
        "subject_template": template.subject_template,
        "body_template": template.body_template,
    }
    return {**data, **changes}


def page_text(response) -> str:
    """The page as a reader sees it: HTML entities unescaped."""
    return html.unescape(response.content.decode())


def rendered_previews(response) -> list[str]:
    """The rendered letters on a page, one string per <article>."""
    articles = re.findall(
        r'<article class="letter-preview".*?</article>',
        response.content.decode(),
        flags=re.S,
    )
    return [html.unescape(a) for a in articles]
