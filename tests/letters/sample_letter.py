"""A sample context and letter for the rendering tests, and render() with them."""

from letters.rendering import render_letter

SIGNER = {
    "official.salutation": "Dear Prime Minister",
    "official.name": "Jo Bloggs MP",
    "official.position": "Prime Minister",
    "official.organisation": "Cabinet Office",
    "signer.name": "Ada Lovelace",
    "signer.town": "Leeds",
    "signer.postcode": "LS1 1AA",
    "signer.personal_paragraph": "Our library closed last year.",
    "campaign.title": "Save Our Libraries",
    "today": "25 November 2025",
}

LETTER = """\
{{ today }}

{{ official.name }}
{{ official.position }}
{{ official.organisation }}

{{ official.salutation }},

I am writing about {{ campaign.title }}.

{{ signer.personal_paragraph }}

Yours sincerely,
{{ signer.name }}, {{ signer.town }}
{{ signer.postcode }}
"""


def field(name):
    return "{{ " + name + " }}"


def render(body, context=None, subject="Re: {{ signer.name }}"):
    return render_letter(
        subject_template=subject,
        body_template=body,
        context=SIGNER if context is None else context,
    )


def without(*names):
    return {k: v for k, v in SIGNER.items() if k not in names}
