"""The console's one way of showing times and durations.

`when`: a moment as absolute UTC plus how long ago (or until), in a `<time>` whose `datetime` is the ISO value.
`duration`: a length of time from whole seconds or a Go duration as Hydra stores it ("15m0s"), in the words the
forms use (truss.durations.human), with the ISO 8601 duration in `datetime`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from django import template
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.html import format_html
from django.utils.safestring import SafeString

from truss import durations

register = template.Library()

_UNITS = (86400, 3600, 60, 1)


def _moment(value: object) -> datetime | None:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    elif isinstance(value, str) and value:
        parsed = parse_datetime(value)
        if parsed is None:
            return None
        moment = parsed
    elif isinstance(value, int | float) and not isinstance(value, bool):
        moment = datetime.fromtimestamp(value, UTC)
    else:
        return None
    if timezone.is_naive(moment):
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def rough(seconds: int) -> str:
    """A length rounded down to its largest unit, in durations.human's words: 185 -> "3 min"."""
    seconds = abs(int(seconds))
    unit = next((u for u in _UNITS if seconds >= u), 1)
    return durations.human(seconds - seconds % unit)


def relative(moment: datetime, now: datetime | None = None) -> str:
    """ "3 days ago", "in 2 h", "just now" (under a minute either way)."""
    delta = int((moment - (now or timezone.now())).total_seconds())
    if abs(delta) < 60:
        return "just now"
    return f"in {rough(delta)}" if delta > 0 else f"{rough(delta)} ago"


@register.filter(is_safe=True)
def when(value: object, now: datetime | None = None) -> SafeString | str:
    """`<time datetime="2026-12-07T16:01:24+00:00">2026-12-07 16:01 UTC · 3 min ago</time>`; "" for no time."""
    moment = _moment(value)
    if moment is None:
        return ""
    return format_html(
        '<time datetime="{}" title="{}">{} UTC <span class="muted">· {}</span></time>',
        moment.isoformat(timespec="seconds"),
        moment.strftime("%Y-%m-%d %H:%M:%S UTC"),
        moment.strftime("%Y-%m-%d %H:%M"),
        relative(moment, now),
    )


def _seconds(value: object) -> int | None:
    if isinstance(value, bool) or value is None or value == "":
        return None
    if isinstance(value, int | float):
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        if text.isdigit():
            return int(text)
        if text and text[0].isdigit():
            return durations.from_go(text)
    return None


def iso_duration(seconds: int) -> str:
    """ISO 8601 duration for `<time datetime>`: 900 -> "PT15M", 90000 -> "P1DT1H"."""
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    clock = "".join(f"{n}{u}" for n, u in ((hours, "H"), (minutes, "M"), (secs, "S")) if n)
    out = "P" + (f"{days}D" if days else "") + (f"T{clock}" if clock else "")
    return out if out != "P" else "PT0S"


@register.filter(is_safe=True)
def duration(value: object) -> SafeString | str:
    """Seconds (900) or a Go duration ("15m0s") as `<time datetime="PT15M">15 min</time>`; anything else as it
    is (escaped), nothing for no value."""
    seconds = _seconds(value)
    if seconds is None:
        return "" if value in (None, "") else format_html("{}", value)
    return format_html('<time datetime="{}">{}</time>', iso_duration(seconds), durations.human(seconds))


@register.simple_tag
def crumbs(*parts: object) -> SafeString:
    """Breadcrumbs for a detail page: pairs of (label, url), then the current page's label:
    `{% crumbs "Clients" clients_url client.client_name detail_url "History" %}`."""
    *links, here = parts
    items = [
        format_html('<li><a href="{}">{}</a></li>', links[i + 1], links[i])
        for i in range(0, len(links) - 1, 2)
    ]
    items.append(format_html('<li aria-current="page">{}</li>', here))
    return format_html(
        '<nav class="breadcrumbs" aria-label="Breadcrumb"><ol>{}</ol></nav>', SafeString("".join(items))
    )
