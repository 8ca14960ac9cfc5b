"""The `ui` template tag library: `{% load ui %}`.

- `{% icon "name" %}` inlines a Tabler outline icon (SVG, aria-hidden) with class "icon";
  `{% icon "name" class="icon-lg" label=_("Scan") %}` adds classes, or makes it a labelled image.
- `{{ amount_fen|yuan }}` → "¥1,234.50" (integer fen in, never floats).
- `{{ value|cn_date }}` → "2026年11月23日" (Chinese) / "23 Nov 2026" (English), in Asia/Shanghai;
  `{{ value|cn_date:"time" }}` adds the time: "2026年11月23日 14:05" / "23 Nov 2026, 14:05".
- `{% nav_links "resident" as links %}` the navigation entries the current user may see.
- `{% html_lang %}` → "zh-Hans" or "en", for the `lang` attribute.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from django import template
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.translation import get_language

from onecity.core import navigation
from onecity.core.money import fen_text

register = template.Library()
log = logging.getLogger(__name__)

ICON_DIR = Path(__file__).resolve().parents[1] / "icons" / "outline"  # built by onecity.core.assets
SHANGHAI = ZoneInfo("Asia/Shanghai")
MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_ICON_NAME = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_SVG_OPEN = re.compile(r"<svg\b[^>]*>", re.S)


def is_english() -> bool:
    return (get_language() or "").lower().startswith("en")


@lru_cache(maxsize=512)
def icon_body(name: str) -> str | None:
    """The inner markup of a Tabler outline icon (paths only), or None when there is no such icon."""
    if not _ICON_NAME.match(name):
        return None
    path = ICON_DIR / f"{name}.svg"
    if not path.is_file():
        return None
    svg = path.read_text(encoding="utf-8")
    match = _SVG_OPEN.search(svg)
    if not match:
        return None
    body = svg[match.end():svg.rindex("</svg>")]
    # Drop Tabler's invisible bounding-box path and collapse the whitespace between elements.
    body = re.sub(r'<path stroke="none" d="M0 0h24v24H0z" fill="none"\s*/>', "", body)
    return re.sub(r">\s+<", "><", body.strip())


def render_icon(name: str, css_class: str = "", label: str = "") -> str:
    body = icon_body(name)
    if body is None:
        log.error("Unknown icon %r (run `make assets` to install the Tabler icons)", name)
        return ""
    classes = " ".join(c for c in ("icon", f"icon-{name}", css_class) if c)
    if label:
        a11y = f'role="img" aria-label="{escape(label)}"'
        body = f"<title>{escape(label)}</title>{body}"
    else:
        a11y = 'aria-hidden="true" focusable="false"'
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="{escape(classes)}" viewBox="0 0 24 24" '
        f'fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" '
        f'stroke-linejoin="round" {a11y}>{body}</svg>'
    )


@register.simple_tag
def icon(name: str, **kwargs) -> str:
    return mark_safe(render_icon(str(name), str(kwargs.get("class", "")), str(kwargs.get("label", ""))))  # noqa: S308 - built from escaped parts and a vendored SVG


@register.filter
def yuan(value) -> str:
    """Integer fen → "¥1,234.50" ("-¥3.00" for negative amounts). Anything else renders as ""."""
    if isinstance(value, bool):
        return ""
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        value = int(value.strip())
    if not isinstance(value, int):
        return ""
    return fen_text(value, symbol="¥", grouping=True)


@register.filter
def cn_date(value, arg: str = "") -> str:
    """A date (or aware datetime, shown in Asia/Shanghai) in the reader's language."""
    if value in (None, ""):
        return ""
    with_time = arg == "time"
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(SHANGHAI)
        day, clock = value.date(), value.strftime("%H:%M")
    elif isinstance(value, dt.date):
        day, clock, with_time = value, "", False
    else:
        return ""
    if is_english():
        text = f"{day.day} {MONTHS_EN[day.month - 1]} {day.year}"
        return f"{text}, {clock}" if with_time else text
    text = f"{day.year}年{day.month}月{day.day}日"
    return f"{text} {clock}" if with_time else text


@register.simple_tag(takes_context=True)
def nav_links(context, area: str):
    return navigation.nav_links(area, context.get("request"))


@register.simple_tag
def html_lang() -> str:
    return "en" if is_english() else "zh-Hans"


@register.simple_tag
def other_language() -> dict:
    """The language the switch offers: code for set_language and its name in that language."""
    if is_english():
        return {"code": "zh-hans", "name": "中文", "lang": "zh-Hans"}
    return {"code": "en", "name": "English", "lang": "en"}
