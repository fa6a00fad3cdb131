"""The admin's letter template form. The merge-field checks themselves live in
LetterTemplate.clean() (letters/rendering.py), so admin, shell and fixtures agree."""

from django import forms

from .models import LetterTemplate
from .text import normalise_newlines


class LetterTextField(forms.CharField):
    """Line breaks counted and stored as one character each (see normalise_newlines),
    as the textarea's own maxlength counts them, so a body that fits in the editor
    is not rejected as too long."""

    def to_python(self, value):
        return normalise_newlines(super().to_python(value))


class LetterTemplateForm(forms.ModelForm):
    class Meta:
        model = LetterTemplate
        fields = ["name", "subject_template", "body_template"]
        field_classes = {"body_template": LetterTextField}
        widgets = {
            "subject_template": forms.TextInput(
                attrs={"class": "vTextField letter-subject-input"}
            ),
            "body_template": forms.Textarea(
                attrs={"rows": 28, "class": "vLargeTextField letter-editor"}
            ),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Not required here, so an empty subject reaches LetterTemplate.clean() and
        # gets its message ("The subject is empty", with the allowed fields)
        # instead of a bare "This field is required".
        # (Absent from the read-only form the admin builds for view-only users.)
        if "subject_template" in self.fields:
            self.fields["subject_template"].required = False

    def is_multipart(self) -> bool:
        # Sent url-encoded, every line break, brace and comma of a long letter
        # grows to three bytes, so a body far under the length limit could trip
        # DATA_UPLOAD_MAX_MEMORY_SIZE and get a bare 400 page. Multipart sends the
        # text as typed, so an over-long body reaches the form and gets a message.
        return True
