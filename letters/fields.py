"""The merge fields a letter template may use: the one table that the renderer
(which names are allowed), the admin (the list beside the editor), the campaign
page (placeholders before the supporter types) and campaign/drafting.py (where
each value comes from) all read. Adding a field is one row here; the tests then
ask for its sample value (tests/test_rendering.py) and its row in the table of
docs/organiser.md.

Pure Python with no Django imports, like rendering.py, which uses it.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class MergeField:
    name: str  # as typed between the braces: {{ official.name }}
    description: str  # beside the editor in the admin
    placeholder: str  # in the campaign page's preview, before the supporter types
    # Where a drafted letter takes the value from: "<object>.<attribute>" of the
    # campaign, official or signature it is drafted for, or "today" (the date it
    # is drafted, which is when the supporter confirms).
    source: str
    # Whether the value is always there (the model or the sign form insists on
    # it). An optional field left empty takes its line with it (rendering.py).
    required: bool = True

    @property
    def code(self) -> str:
        return "{{ " + self.name + " }}"

    @property
    def help(self) -> str:
        return self.description if self.required else f"{self.description} (optional)"

    @property
    def source_object(self) -> str:
        return self.source.partition(".")[0]

    @property
    def source_attribute(self) -> str:
        return self.source.partition(".")[2]


_TABLE = (
    MergeField(
        name="official.salutation",
        description='Greeting to the official, e.g. "Dear Prime Minister"',
        placeholder="[greeting to the official]",
        source="official.salutation",
    ),
    MergeField(
        name="official.name",
        description="The official's full name",
        placeholder="[official's name]",
        source="official.name",
    ),
    MergeField(
        name="official.position",
        description="The official's position or title",
        placeholder="[official's position]",
        source="official.position",
    ),
    MergeField(
        name="official.organisation",
        description="The official's organisation or department",
        placeholder="[official's organisation]",
        source="official.organisation",
        required=False,
    ),
    MergeField(
        name="signer.name",
        description="The supporter's name",
        placeholder="[your name]",
        source="signature.full_name",
    ),
    MergeField(
        name="signer.town",
        description="The supporter's town",
        placeholder="[your town]",
        source="signature.town",
        required=False,
    ),
    MergeField(
        name="signer.postcode",
        description="The supporter's postcode",
        placeholder="[your postcode]",
        source="signature.postcode",
    ),
    MergeField(
        name="signer.personal_paragraph",
        description="The supporter's own paragraph",
        placeholder="[your personal paragraph, if you add one]",
        source="signature.personal_paragraph",
        required=False,
    ),
    MergeField(
        name="campaign.title",
        description="The campaign's title",
        placeholder="[campaign title]",
        source="campaign.title",
    ),
    MergeField(
        name="today",
        description="The date the letter is written, when the supporter confirms",
        placeholder="[today's date]",
        source="today",
    ),
)

FIELDS: dict[str, MergeField] = {field.name: field for field in _TABLE}

# What the campaign page shows before the supporter has typed anything.
PLACEHOLDERS: dict[str, str] = {field.name: field.placeholder for field in _TABLE}

# A campaign update (an email to the campaign's supporters, written in the admin)
# uses the same language with fewer fields: it goes to supporters, so nothing
# about an official, and only what every supporter's copy can be filled from.
_SIGNATURE_COUNT = MergeField(
    name="campaign.signatures",
    description="How many supporters have signed (when the update was sent)",
    placeholder="[number of signatures]",
    source="campaign.signature_count",
)
UPDATE_FIELDS: dict[str, MergeField] = {
    field.name: field
    for field in (FIELDS["signer.name"], FIELDS["campaign.title"], _SIGNATURE_COUNT)
}
# Letter fields an update may not use, and the one message that says why.
UPDATE_REFUSED: dict[str, str] = {
    name: "an update goes to the supporters, not to officials, and has only "
    "the supporter's name, the campaign's title and the number of signatures"
    for name in FIELDS.keys() - UPDATE_FIELDS.keys()
}
