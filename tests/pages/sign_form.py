"""The sign form as Ada fills it in, for the page tests."""


def form_data(**overrides) -> dict:
    data = {
        "full_name": "Ada Lovelace",
        "email": "ada@example.com",
        "postcode": "NW1 6XE",
        "town": "Marylebone",
        "personal_paragraph": "Libraries taught me to read.",
        "consent_to_send": "on",
        "sign": "1",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}
