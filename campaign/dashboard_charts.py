"""Pure: the dashboard's data (dashboard_data.DashboardData) as charts, each one
a Chart.js description (handed to static/js/dashboard.js through json_script)
and the same numbers as a table, which is the page without JavaScript and what
screen readers and copy-paste get. No database access here."""

from dataclasses import asdict, dataclass, field

from .dashboard_data import DashboardData
from .models import DELIVERED_LETTER_STATUSES, LetterStatus


@dataclass
class Chart:
    id: str
    title: str
    about: str  # what the chart means, shown under its title
    type: str  # "bar" or "line" (Chart.js)
    labels: list[str]
    datasets: list[dict]
    headers: list[str]
    rows: list[list]
    stacked: bool = False
    horizontal: bool = False
    axes: dict = field(default_factory=dict)  # extra y axes: {id: title}

    def spec(self) -> dict:
        """What dashboard.js reads: everything but the table."""
        spec = asdict(self)
        for key in ("title", "about", "headers", "rows"):
            spec.pop(key)
        return spec


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    minutes = round(seconds / 60)
    if minutes < 120:
        return f"{minutes} min"
    return f"{minutes / 60:.1f} h"


def _percent(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def daily(data: DashboardData, *, goal: int) -> Chart:
    labels = [row.day.isoformat() for row in data.days]
    so_far, running = [], data.confirmed_before
    for row in data.days:
        running += row.confirmed
        so_far.append(running)
    return Chart(
        id="daily",
        title="Signatures per day",
        about=f"Signatures by the day they were signed: confirmed, and still "
        f"pending confirmation. The line is confirmed signatures so far, against "
        f"the goal of {goal:,}.",
        type="bar",
        labels=labels,
        stacked=True,
        axes={"total": "Confirmed so far"},
        datasets=[
            {"label": "Confirmed", "data": [r.confirmed for r in data.days]},
            {"label": "Pending", "data": [r.pending for r in data.days]},
            {
                "label": "Confirmed so far",
                "data": so_far,
                "type": "line",
                "yAxisID": "total",
            },
            {
                "label": "Goal",
                "data": [goal] * len(labels),
                "type": "line",
                "yAxisID": "total",
            },
        ],  # fmt: skip
        headers=["Day", "Confirmed", "Pending", "Signed", "Confirmed so far"],
        rows=[
            [label, r.confirmed, r.pending, r.signed, total]
            for label, r, total in zip(labels, data.days, so_far, strict=True)
        ],
    )


def hourly(data: DashboardData) -> Chart:
    labels = [hour.strftime("%a %H:00") for hour, _, _ in data.hours]
    return Chart(
        id="hourly",
        title="Signatures per hour, last 48 hours",
        about="Live: signatures by the hour they were signed, whatever the dates "
        "chosen above.",
        type="bar",
        labels=labels,
        stacked=True,
        datasets=[
            {"label": "Confirmed", "data": [c for _, c, _ in data.hours]},
            {"label": "Pending", "data": [p for _, _, p in data.hours]},
        ],
        headers=["Hour", "Confirmed", "Pending"],
        rows=[
            [label, c, p] for label, (_, c, p) in zip(labels, data.hours, strict=True)
        ],
    )


def confirmation(data: DashboardData) -> Chart:
    labels = [row.day.isoformat() for row in data.days]
    rates = [_percent(row.confirmed, row.signed) for row in data.days]
    medians = [
        None
        if r.confirm_seconds_median is None
        else round(r.confirm_seconds_median / 60)
        for r in data.days
    ]
    return Chart(
        id="confirmation",
        title="Confirmation rate and time to confirm",
        about="Of the signatures made each day, the share confirmed so far (a "
        "recent day's rate still rises as emails are opened), and the median time "
        "from signing to confirming, in minutes.",
        type="line",
        labels=labels,
        axes={"minutes": "Median minutes to confirm"},
        datasets=[
            {"label": "Confirmed (%)", "data": rates},
            {
                "label": "Median minutes to confirm",
                "data": medians,
                "yAxisID": "minutes",
            },
        ],  # fmt: skip
        headers=["Day", "Signed", "Confirmed", "Confirmed (%)", "Median time"],
        rows=[
            [
                label,
                r.signed,
                r.confirmed,
                "–" if rate is None else f"{rate}%",
                _duration(r.confirm_seconds_median),
            ]
            for label, r, rate in zip(labels, data.days, rates, strict=True)
        ],  # fmt: skip
    )


def officials(data: DashboardData) -> Chart:
    names = list(data.officials)
    statuses = [
        (value, label)
        for value, label in LetterStatus.choices
        if any(data.officials[name].get(value) for name in names)
    ]
    delivered = [
        sum(data.officials[name].get(s, 0) for s in DELIVERED_LETTER_STATUSES)
        for name in names
    ]
    return Chart(
        id="officials",
        title="Letters to each official, by outcome",
        about="Letters written in the chosen dates (on the day their supporter "
        "confirmed), by where each stands now. Delivered: sent on its own or "
        "in a digest.",
        type="bar",
        labels=names,
        stacked=True,
        horizontal=True,
        datasets=[
            {"label": label, "data": [data.officials[n].get(value, 0) for n in names]}
            for value, label in statuses
        ],
        headers=["Official", *(label for _, label in statuses), "Delivered", "All"],
        rows=[
            [
                name,
                *(data.officials[name].get(v, 0) for v, _ in statuses),
                done,
                sum(data.officials[name].values()),
            ]
            for name, done in zip(names, delivered, strict=True)
        ],  # fmt: skip
    )


def personal(data: DashboardData, *, min_words: int) -> Chart:
    counts = [data.personal.get(True, 0), data.personal.get(False, 0)]
    labels = ["Personal letters", "Template letters"]
    total = sum(counts)
    return Chart(
        id="personal",
        title="Personal letters and template letters",
        about=f"Personal letters have at least {min_words} words of the "
        "supporter's own; template letters are the campaign's letter as written.",
        type="bar",
        labels=labels,
        datasets=[{"label": "Letters", "data": counts}],
        headers=["Kind", "Letters", "Share"],
        rows=[
            [label, n, f"{_percent(n, total) or 0}%"]
            for label, n in zip(labels, counts, strict=True)
        ],
    )


def _top_chart(rows, *, id: str, title: str, about: str, what: str) -> Chart:
    labels = [label for label, _, _ in rows]
    return Chart(
        id=id,
        title=title,
        about=about,
        type="bar",
        labels=labels,
        horizontal=True,
        datasets=[
            {"label": "Signed", "data": [signed for _, signed, _ in rows]},
            {"label": "Confirmed", "data": [done for _, _, done in rows]},
        ],
        headers=[what, "Signed", "Confirmed"],
        rows=[list(row) for row in rows],
    )


def summary(data: DashboardData, *, goal: int) -> dict:
    """The headline figures above the charts."""
    signed = sum(row.signed for row in data.days)
    confirmed = sum(row.confirmed for row in data.days)
    so_far = data.confirmed_before + confirmed
    return {
        "signed": signed,
        "confirmed": confirmed,
        "confirmed_percent": _percent(confirmed, signed),
        "so_far": so_far,
        "goal": goal,
        "goal_percent": _percent(so_far, goal),
    }


def dashboard_charts(data: DashboardData, *, goal: int, min_words: int) -> list[Chart]:
    return [
        daily(data, goal=goal),
        hourly(data),
        confirmation(data),
        officials(data),
        personal(data, min_words=min_words),
        _top_chart(
            data.sources,
            id="sources",
            title="Top sources",
            about="Where supporters came from: the link's utm_source, else its "
            "ref, else the site that linked to the campaign; (direct) for none.",
            what="Source",
        ),
        _top_chart(
            data.districts,
            id="districts",
            title="Top postcode districts",
            about="Supporters by postcode district (the first half of the "
            'postcode, e.g. "SW1A").',
            what="District",
        ),
    ]
