"""The public sign form. A plain Form, not a ModelForm: Signature.clean() reports
"already signed", and the public form must never tell anyone who has signed."""

from crispy_forms.helper import FormHelper
from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from letters.fields import FIELDS
from letters.rendering import (
    SIGNATURE_FIELD,
    UNSIGNED_MESSAGE,
    TemplateError,
    fields_used,
    is_signed,
    validate_template,
)
from letters.text import normalise_newlines

from . import areas, quick_copy, selectors, sources
from .models import Campaign, ConsentText, Signature
from .privacy import consent_text_current
from .validators import validate_postcode, validate_single_line, validate_text_block

MAX_LENGTH_MESSAGE = (
    "This is too long: use at most %(limit_value)d characters (it has %(show_value)d)."
)


def _limit(name: str) -> int:
    """Form limits come from the model, so the two never disagree."""
    return Signature._meta.get_field(name).max_length


def validate_signer_email(value: str) -> None:
    # One clear message per problem: control characters first, then the format.
    validate_single_line(value)
    validate_email(value)


class SignerEmailField(quick_copy.EmailField):
    default_validators = [validate_signer_email]


@quick_copy.quick_fields
class SignForm(forms.Form):
    full_name = quick_copy.CharField(
        label="Full name",
        max_length=_limit("full_name"),
        validators=[validate_single_line],
        widget=quick_copy.TextInput(attrs={"autocomplete": "name"}),
        error_messages={
            "required": "Enter your full name.",
            "max_length": MAX_LENGTH_MESSAGE,
        },
    )
    email = SignerEmailField(
        label="Email address",
        max_length=_limit("email"),
        help_text="We email you a link to confirm. Nothing is sent until you do.",
        widget=quick_copy.EmailInput(attrs={"autocomplete": "email"}),
        error_messages={
            "required": "Enter your email address.",
            "invalid": "Enter an email address like name@example.com.",
            "max_length": MAX_LENGTH_MESSAGE,
        },
    )
    postcode = quick_copy.CharField(
        label="Postcode",
        max_length=_limit("postcode"),
        validators=[validate_single_line, validate_postcode],
        widget=quick_copy.TextInput(attrs={"autocomplete": "postal-code"}),
        error_messages={
            "required": "Enter your postcode.",
            "max_length": MAX_LENGTH_MESSAGE,
        },
    )
    town = quick_copy.CharField(
        label="Town (optional)",
        required=False,
        max_length=_limit("town"),
        validators=[validate_single_line],
        widget=quick_copy.TextInput(attrs={"autocomplete": "address-level2"}),
        error_messages={"max_length": MAX_LENGTH_MESSAGE},
    )
    personal_paragraph = quick_copy.CharField(
        label="Your own paragraph (optional)",
        required=False,
        max_length=Signature._meta.get_field("personal_paragraph").max_length,
        validators=[validate_text_block],
        widget=quick_copy.Textarea(attrs={"rows": 4}),
        help_text="A few sentences in your own words, added to the letter.",
        error_messages={"max_length": MAX_LENGTH_MESSAGE},
    )
    letter_body = quick_copy.CharField(
        label="Your letter",
        max_length=Signature._meta.get_field("letter_body").max_length,
        validators=[validate_text_block],
        widget=quick_copy.Textarea(attrs={"rows": 14, "spellcheck": "true"}),
        help_text=(
            "Change the wording if you like. Words in double braces, such as "
            "{{ official.salutation }} and {{ signer.name }}, are filled in for each "
            "official and from your details: keep them as they are."
        ),
        error_messages={
            "required": "Your letter is empty. Write your letter, or reload the "
            "page to start again from the campaign's.",
            "max_length": MAX_LENGTH_MESSAGE,
        },
    )
    consent_to_send = quick_copy.BooleanField(
        label="I agree that my name and letter are sent to the officials named above.",
        error_messages={
            "required": "Tick the box to agree that your letter is sent in your name."
        },
    )
    keep_updated = quick_copy.BooleanField(
        label="Keep me updated about this campaign (optional)", required=False
    )
    # Where the supporter came from, carried from the page's GET (sources.py).
    # Free text: cleaned in clean(), never an error the supporter can't see.
    utm_source = quick_copy.CharField(required=False, widget=quick_copy.HiddenInput)
    utm_medium = quick_copy.CharField(required=False, widget=quick_copy.HiddenInput)
    utm_campaign = quick_copy.CharField(required=False, widget=quick_copy.HiddenInput)
    ref = quick_copy.CharField(required=False, widget=quick_copy.HiddenInput)
    referrer_host = quick_copy.CharField(required=False, widget=quick_copy.HiddenInput)

    # The form fields the letter's merge fields read (letters/fields.py): once
    # any of them is typed in, the preview shows the supporter instead of
    # placeholders.
    SIGNER_FIELDS = tuple(
        field.source_attribute
        for field in FIELDS.values()
        if field.source_object == "signature"
    )

    def __init__(
        self, *args, campaign: Campaign, consent: ConsentText | None = None, **kwargs
    ) -> None:
        super().__init__(*args, **kwargs)
        self.campaign = campaign
        # The versioned wording (campaign/privacy.py): what is shown is what the
        # signature records. `consent`: the wording the page showed, if known.
        self.consent = consent or consent_text_current()
        self.fields["consent_to_send"].label = self.consent.text
        self.campaign_body = campaign.letter_template.body_template
        if campaign.signers_may_edit:
            self.fields["letter_body"].initial = self.campaign_body
            if self.is_bound and "letter_body" not in self.data:
                # Not sent at all (not emptied): the campaign's letter as written.
                self.data = self.data.copy()
                self.data["letter_body"] = self.campaign_body
        else:
            del self.fields["letter_body"]
        if not (
            campaign.signers_may_edit
            or "signer.personal_paragraph" in fields_used(self.campaign_body)
        ):
            # The letter has nowhere to put it: asking for it would be a lie.
            del self.fields["personal_paragraph"]
        # Campaigns by postcode: the postcode also finds whom they write to.
        self.targeting = selectors.area_targeting(campaign=campaign)
        self.signer_area: areas.SignerArea | None = None
        self.helper = FormHelper()
        self.helper.form_tag = False  # the page holds <form>, CSRF and both buttons
        self.helper.disable_csrf = True

    def clean_personal_paragraph(self) -> str:
        return normalise_newlines(self.cleaned_data["personal_paragraph"])

    def clean_letter_body(self) -> str:
        body = normalise_newlines(self.cleaned_data["letter_body"])
        # Unchanged means "the campaign's letter", stored as blank (see the model).
        # Checked first: the supporter can't be asked to fix what they didn't write.
        if body.strip() == normalise_newlines(self.campaign_body).strip():
            return ""
        try:
            validate_template(body, max_length=self.fields["letter_body"].max_length)
        except TemplateError as exc:
            raise ValidationError(
                [f"Your letter can't be sent as written: {p}." for p in exc.problems]
                + [
                    "Words in double braces must be one of the fields the letter "
                    "started with, such as {{ signer.name }}."
                ]
            ) from None
        if not is_signed(body):
            raise ValidationError(UNSIGNED_MESSAGE)
        return body

    def clean(self) -> dict:
        data = super().clean()
        # One argument for the sign service; the hidden inputs keep the raw values.
        data["source"] = sources.Source(
            **{
                name: sources.clean_value(data.pop(name, ""))
                for name in sources.PARAMETERS
            },
            referrer_host=sources.clean_host(data.pop("referrer_host", "")),
        )
        if self.targeting is not None and data.get("postcode"):
            self._find_area(data)
        body = data.get("letter_body") or self.campaign_body
        if (
            data.get("personal_paragraph")
            and "letter_body" in data
            and "signer.personal_paragraph" not in fields_used(body)
        ):
            self.add_error(
                "letter_body",
                "Your letter has no {{ signer.personal_paragraph }}, so your own "
                "paragraph would not be sent. Add it where the paragraph should go, "
                "or write your paragraph into the letter and leave the paragraph "
                "box empty.",
            )
        return data

    def _find_area(self, data: dict) -> None:
        """The supporter's area (one indexed query): the one the postcode is in,
        or the one they chose (the preview's radio buttons) where it is in
        several. In cleaned_data as "area" for the sign service."""
        found = areas.signer_area(
            dataset_id=self.targeting.dataset_id,
            postcode=data["postcode"],
            chosen=str(self.data.get("area", "")),
        )
        self.signer_area = found
        if found.problem:
            self.add_error("postcode", ValidationError(found.problem, code=found.code))
        else:
            data["area"] = found.area

    def representative(self):
        """The official the supporter's letter goes to in a campaign by
        postcode (with .delivery_mode and .area for the page), once found."""
        if self.signer_area is None or self.signer_area.area is None:
            return None
        area = self.signer_area.area
        official = area.official
        official.delivery_mode, official.area = self.targeting.delivery_mode, area
        return official

    # --- the preview ---------------------------------------------------------

    def drop_required_errors(self) -> None:
        """For a Preview press: an empty required field is not a mistake yet, but
        a too-long name or a broken letter is worth saying at once."""
        for name in list(self.errors):
            # Nor is an area not chosen yet: the preview offers the choice.
            kept = [
                message
                for error in self.errors.as_data()[name]
                if error.code not in ("required", areas.CHOOSE_AREA_CODE)
                for message in error.messages
            ]
            if kept:
                self._errors[name] = self.error_class(kept, field_id=self[name].auto_id)
            else:
                del self._errors[name]

    def preview_signer(self) -> Signature | None:
        """The supporter as far as they have (validly) typed, as an unsaved
        Signature; None before they type anything, which shows every placeholder."""
        if not self.is_bound or not any(
            str(self.data.get(name, "")).strip() for name in self.SIGNER_FIELDS
        ):
            return None
        values = {name: self.cleaned_data.get(name, "") for name in self.SIGNER_FIELDS}
        # Until the name is typed, the placeholder shows where the letter is signed.
        signed_by = FIELDS[SIGNATURE_FIELD]
        values[signed_by.source_attribute] = (
            values[signed_by.source_attribute] or signed_by.placeholder
        )
        return Signature(**values)

    def preview_body_template(self) -> str | None:
        """The letter body to preview: theirs when valid, else the campaign's."""
        if not self.is_bound:
            return None
        return self.cleaned_data.get("letter_body") or None
