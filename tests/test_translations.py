"""Every Simplified Chinese catalog is complete, and pages speak the default language."""

from __future__ import annotations

from pathlib import Path

import polib
import pytest
from django.conf import settings

PACKAGE_DIR = Path(settings.BASE_DIR)
CATALOGS = sorted(p for p in PACKAGE_DIR.rglob("locale/zh_Hans/LC_MESSAGES/*.po") if "node_modules" not in p.parts)


def test_there_is_a_project_catalog():
    assert PACKAGE_DIR / "locale/zh_Hans/LC_MESSAGES/django.po" in CATALOGS


@pytest.mark.parametrize("path", CATALOGS, ids=lambda p: str(p.relative_to(PACKAGE_DIR)))
def test_catalog_is_complete(path):
    po = polib.pofile(str(path))
    where = lambda e: f"{e.msgid[:60]!r} ({', '.join(f'{f}:{n}' for f, n in e.occurrences[:2])})"  # noqa: E731
    empty = [where(e) for e in po if not e.obsolete and not e.translated() and "fuzzy" not in e.flags]
    fuzzy = [where(e) for e in po if not e.obsolete and "fuzzy" in e.flags]
    assert empty == [], f"{path}: untranslated entries"
    assert fuzzy == [], f"{path}: fuzzy entries (check the translation, then remove the flag)"
    # (a "fuzzy" flag on the header, as makemessages leaves it, is harmless: msgfmt keeps the header)
    assert po.metadata.get("Plural-Forms", "").replace(" ", "") == "nplurals=1;plural=0;"


def test_catalog_placeholders_match():
    """A translation keeps every %(name)s / {name} placeholder of its msgid."""
    import re

    placeholder = re.compile(r"%\([a-z_]+\)[sd]|\{[a-z_]+\}")
    broken = []
    for path in CATALOGS:
        for entry in polib.pofile(str(path)):
            if entry.obsolete or not entry.translated():
                continue
            translations = entry.msgstr_plural.values() if entry.msgid_plural else [entry.msgstr]
            wanted = set(placeholder.findall(entry.msgid_plural or entry.msgid))
            broken += [f"{path.name}: {entry.msgid[:50]!r}" for t in translations if set(placeholder.findall(t)) != wanted]
    assert broken == []


def test_default_language_is_simplified_chinese():
    assert settings.LANGUAGE_CODE == "zh-hans"
    assert [code for code, _ in settings.LANGUAGES] == ["zh-hans", "en"]


@pytest.mark.django_db
def test_pages_render_with_lang_zh_hans_by_default(client):
    for url in ("/", "/this-page-does-not-exist/"):
        html = client.get(url, follow=True).content.decode()
        assert '<html lang="zh-Hans">' in html, url
        assert "e福州" in html, url


@pytest.mark.django_db
def test_english_is_chosen_by_the_browser_or_the_switch(client):
    html = client.get("/this-page-does-not-exist/", HTTP_ACCEPT_LANGUAGE="en-GB,en;q=0.9").content.decode()
    assert '<html lang="en">' in html
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    html = client.get("/this-page-does-not-exist/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<html lang="zh-Hans">' in html


def test_catalogs_agree_on_shared_messages():
    """Django merges the catalogs (the project's first, then apps in INSTALLED_APPS order), so
    one English text translated two ways silently shows only one of them. Keep them equal."""
    seen: dict[tuple[str, str], dict[str, str]] = {}
    for path in CATALOGS:
        for entry in polib.pofile(str(path)):
            if entry.obsolete or not entry.translated() or entry.msgid_plural:
                continue
            seen.setdefault((entry.msgctxt or "", entry.msgid), {})[str(path.relative_to(PACKAGE_DIR))] = entry.msgstr
    conflicts = {key[1][:60]: where for key, where in seen.items() if len(set(where.values())) > 1}
    assert conflicts == {}


def test_chinese_calls_the_product_by_its_chinese_name():
    """In Chinese the product is 一网通, never the English "OneCity"."""
    leaks = [entry.msgid[:60] for path in CATALOGS for entry in polib.pofile(str(path))
             if not entry.obsolete and "OneCity" in entry.msgstr]
    assert leaks == []


def test_what_users_see_is_what_we_wrote():
    """Catalogs of apps listed earlier (Django's admin, auth, DOT, axes...) win over ours for
    the same text: every message of ours must come out of gettext as we translated it."""
    from django.utils import translation

    overridden = {}
    with translation.override("zh-hans"):
        for path in CATALOGS:
            for entry in polib.pofile(str(path)):
                if entry.obsolete or not entry.translated() or entry.msgid_plural:
                    continue
                shown = (translation.pgettext(entry.msgctxt, entry.msgid) if entry.msgctxt
                         else translation.gettext(entry.msgid))
                if shown != entry.msgstr:
                    overridden[entry.msgid[:50]] = (entry.msgstr, shown)
    assert overridden == {}
