"""The demo campaign: a letter modelled on the argument of Bill Browder's 2016 open
letter to the Prime Minister, written afresh in our own words.

Officials are fictional and addressed at example.org so the demo never reaches a
real inbox.
"""

DEMO_SLUG = "litvinenko-sanctions"

TEMPLATE_NAME = "Litvinenko: targeted sanctions (demo)"

SUBJECT = "Sanction the officials behind the killing of Alexander Litvinenko"

BODY = """\
{{ official.salutation }},

I am writing as one of many people across the country who have joined the \
"{{ campaign.title }}" campaign. Please read this letter as coming from all of us.

An independent public inquiry has concluded that Alexander Litvinenko was poisoned \
in London by agents of a foreign state, in an operation most probably approved at \
the top of that state's government. A killing ordered by a government, carried out \
on our streets and putting the public in danger, is state terrorism. A statement of \
regret is not an answer to it.

We are told there are only two options: carry on as before, or break off relations \
altogether. That is a false choice. The government can keep talking to Moscow on the \
questions that matter for our security and still make the people behind this crime \
pay a personal price.

I ask you to do exactly that: bar the officials identified as responsible from \
entering the United Kingdom, and freeze the money and property they hold here. Many \
of them keep their wealth, their homes and their families' futures in this country. \
Taking that away strikes at what they value most.

This has been done before. In 2012 the United States passed the Magnitsky Act, \
which denied visas to, and froze the assets of, the officials behind the death in \
custody of the lawyer Sergei Magnitsky. Moscow warned that the law would wreck \
relations between the two countries. It did not: diplomacy went on, and the people \
on the list learned that their crimes had consequences abroad.

Some say targeted sanctions achieve nothing. Experience says otherwise. The people \
named on such lists fear them more than any diplomatic protest, because a listing \
shuts them out of the places where they travel, bank and plan to retire, and it \
ends their sense that they can act with impunity.

{{ signer.personal_paragraph }}

Nothing can undo what happened in 2006. What you can do is show that this country \
will not be intimidated, and that anyone who considers a similar attack here will \
pay for it. I urge you to act now.

Yours sincerely,

{{ signer.name }}
{{ signer.town }}
"""

CAMPAIGN = {
    "title": "Justice for Litvinenko: sanction those responsible",
    "summary": (
        "An independent inquiry found that Alexander Litvinenko was killed in London "
        "by agents of a foreign state. Ask the Prime Minister and the Home Secretary "
        "to impose visa bans and asset freezes on the officials responsible, as the "
        "United States did with the Magnitsky Act."
    ),
    "signature_goal": 10_000,
    "signers_may_edit": True,
}

OFFICIALS = [
    {
        "email": "prime.minister@example.org",
        "name": "Alex Morgan",
        "position": "Prime Minister",
        "salutation": "Dear Prime Minister",
        "organisation": "Prime Minister's Office",
    },
    {
        "email": "home.secretary@example.org",
        "name": "Sam Okafor",
        "position": "Home Secretary",
        "salutation": "Dear Home Secretary",
        "organisation": "Home Office",
    },
]
