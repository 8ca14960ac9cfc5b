"""The demo hotline's bursts (data/bursts.json): several residents of one district report the same
matter in the last days, so the hot-spot page and the duplicate suggestions have something to
show on a fresh demo — and seeding again adds no burst twice."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.utils import timezone

from onecity.demo.hotline import loader
from onecity.hotline.models import Case
from onecity.hotline.selectors import hotspots as hs
from onecity.hotline.selectors.similar import similar_open_cases
from onecity.identity.models import Organization, User

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *settings.PASSWORD_HASHERS]


def test_bursts_make_hot_spots_and_duplicate_suggestions():
    call_command("seed", demo=True, small=True, skip_migrate=True, stdout=io.StringIO())
    bursts = loader.load("bursts.json")
    texts = [text for burst in bursts for _hours, _stop, text in burst["requests"]]
    assert Case.objects.filter(text__in=texts).count() == len(texts) == 23

    report = hs.hotspot_compute(window="7d", end=timezone.now())
    regions = dict(Organization.objects.values_list("pk", "region_code"))
    found = {(regions[h.district_id], h.category_code): (h.count, h.before) for h in report.hotspots}
    # every burst is a rising hot spot of its district, made of its requests of the last 7 days
    # and at most the few other requests of that district in those days that read alike (the
    # demo's year of history adds a request of its own to a cluster on some days)
    for burst in bursts:
        recent = sum(1 for hours, _stop, _text in burst["requests"] if hours < 7 * 24)
        others = (Case.objects.filter(district__region_code=burst["district"], created_at__gte=report.start,
                                      created_at__lt=report.end).exclude(text__in=texts).count())
        count, before = found[(burst["district"], burst["category"])]
        assert 3 <= count <= recent + min(others, 2) and before < count, burst["category"]
    assert report.rising[:len(bursts)] == report.hotspots[:len(bursts)]

    # the newest report of the compound without water suggests the others as duplicates
    newest = Case.objects.filter(text=bursts[0]["requests"][0][2]).get()
    suggested = similar_open_cases(actor=User.objects.get(username="dispatcher"), case=newest)
    assert len(suggested) >= 2
    assert {s.case.district_id for s in suggested} == {newest.district_id}
    assert all("阳光小区" in s.case.text for s in suggested)

    before = Case.objects.count()
    call_command("seed", demo=True, small=True, skip_migrate=True, stdout=io.StringIO())
    assert Case.objects.count() == before
