"""Duplicate suggestions (selectors/similar.py): open requests of the same district, filed within
the window, whose text is similar — exact sets on hand-made cases; the case page and the manual
queue show them with a one-click merge through the merge service; people who may not merge get
nothing and change nothing."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.urls import reverse

from onecity.hotline.enums import CaseState
from onecity.hotline.models import Case, CaseEvent
from onecity.hotline.selectors.similar import similar_for_cases, similar_open_cases
from onecity.hotline.tests.support import advance, at, register

S = CaseState
pytestmark = pytest.mark.django_db

WATER = "温泉街道阳光小区从昨天晚上开始停水，到现在还没有来水，也没有停水通知，请尽快恢复供水。"
WATER_AGAIN = "阳光小区停水快一天了，到现在还没有来水，物业说是供水管道爆管，请尽快恢复供水。"
WATER_ELSEWHERE = "金辉花园今天下午开始停水，没有提前通知，请自来水公司尽快恢复供水。"
NOISE = "楼下烧烤店每天营业到凌晨两点，音响声音很大，严重影响居民休息。"


def ids(suggestions):
    return [s.case.public_id for s in suggestions]


@pytest.fixture
def cases(city, clock):
    """The case under test and its neighbours (all registered by residents, so not categorised;
    `advance` to merged registers one more request, with the support module's pothole text)."""
    clock.set(at(2026, 10, 1, 9))
    too_old = register(city, text=WATER_AGAIN)  # 53 days before: outside the 30-day window
    clock.set(at(2026, 11, 20, 9))
    closed = advance(city, register(city, text=WATER_AGAIN), S.CLOSED)
    merged = advance(city, register(city, text=WATER), S.MERGED)
    clock.set(at(2026, 11, 22, 9))
    paraphrase = register(city, text=WATER_AGAIN)
    same_text = register(city, text=WATER)
    other_district = register(city, text=WATER, district=city.other_district)
    unrelated = register(city, text=NOISE)
    elsewhere = register(city, text=WATER_ELSEWHERE)
    clock.advance(minutes=5)
    dispatched = advance(city, register(city, text=WATER_AGAIN), S.DISPATCHED)
    clock.set(at(2026, 11, 23, 9))
    case = register(city, text=WATER)
    clock.set(at(2026, 11, 23, 10))
    return {"case": case, "too_old": too_old, "closed": closed, "merged": merged, "paraphrase": paraphrase,
            "same_text": same_text, "other_district": other_district, "unrelated": unrelated,
            "elsewhere": elsewhere, "dispatched": dispatched}


def test_suggests_open_similar_requests_of_the_same_district_best_first(city, cases):
    found = similar_open_cases(actor=city.dispatcher, case=cases["case"])
    # same text first (score 1), then the two paraphrases (the newer of equal scores first);
    # not itself, another district, a closed or merged one, one filed before the window, another
    # compound's outage or an unrelated matter
    assert ids(found) == [cases["same_text"].public_id, cases["dispatched"].public_id,
                          cases["paraphrase"].public_id]
    assert found[0].percent == 100
    assert found[1].score == found[2].score
    assert settings.HOTLINE_SIMILAR_THRESHOLD <= found[1].score < 1
    assert found[1].percent == round(found[1].score * 100)


def test_threshold_and_window_are_settings(city, cases, settings):
    settings.HOTLINE_SIMILAR_THRESHOLD = 0.999
    assert ids(similar_open_cases(actor=city.dispatcher, case=cases["case"])) == [cases["same_text"].public_id]
    settings.HOTLINE_SIMILAR_THRESHOLD = 0.2
    settings.HOTLINE_SIMILAR_DAYS = 60
    found = ids(similar_open_cases(actor=city.dispatcher, case=cases["case"]))
    assert found == [cases["same_text"].public_id, cases["dispatched"].public_id, cases["paraphrase"].public_id,
                     cases["too_old"].public_id]


def test_at_most_five_and_a_whole_page_at_once(city, cases, clock):
    extra = [register(city, text=WATER) for _ in range(5)]
    found = similar_open_cases(actor=city.dispatcher, case=cases["case"])
    assert len(found) == 5 and all(s.percent == 100 for s in found)
    assert set(ids(found)) <= {cases["same_text"].public_id, *(c.public_id for c in extra)}
    page = similar_for_cases(actor=city.dispatcher, cases=[cases["case"], cases["unrelated"],
                                                            cases["other_district"]])
    assert ids(page[cases["case"].pk]) == ids(found)
    assert page[cases["unrelated"].pk] == []
    assert page[cases["other_district"].pk] == []  # alone in its district


def test_a_handler_sees_only_their_units_cases(city, cases):
    # the handler's unit holds only the dispatched one
    assert ids(similar_open_cases(actor=city.handler, case=cases["case"])) == [cases["dispatched"].public_id]
    assert similar_open_cases(actor=city.other_handler, case=cases["case"]) == []


# --- pages ---------------------------------------------------------------------------------------
def signed_in(client, user):
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def case_url(case):
    return reverse("hotline:desk_case", args=[case.public_id])


def merge_url(case):
    return reverse("hotline:desk_case_act", args=[case.public_id, "merge"])


def snapshot(*cases):
    return [(c.state, c.merged_into_id, CaseEvent.objects.filter(case=c).count())
            for c in Case.objects.filter(pk__in=[c.pk for c in cases]).order_by("pk")]


def test_case_page_offers_the_suggestions_with_a_merge_button(city, cases, client):
    page = signed_in(client, city.dispatcher).get(case_url(cases["case"])).content.decode()
    assert page.count("Possible duplicate · 100% similar") == 1
    assert page.count('class="desk-similar-item"') == 3
    for key in ("same_text", "dispatched", "paraphrase"):
        assert f'data-similar="{cases[key].public_id}"' in page
        assert f'name="merge-into" value="{cases[key].public_id}"' in page
    for key in ("other_district", "closed", "too_old", "unrelated", "elsewhere"):
        assert f'data-similar="{cases[key].public_id}"' not in page
    # the merge panel's list offers the suggestions first
    assert page.index(f'<option value="{cases["same_text"].public_id}"') < page.index(
        f'<option value="{cases["paraphrase"].public_id}"')


def test_merge_from_a_suggestion(city, cases, client):
    case, target = cases["case"], cases["dispatched"]
    response = signed_in(client, city.dispatcher).post(merge_url(case), {"merge-into": target.public_id})
    assert response.status_code == 302
    case.refresh_from_db()
    assert (case.state, case.merged_into_id) == (S.MERGED, target.pk)
    assert CaseEvent.objects.filter(case=target, action="merge").get().data == {"duplicate": case.tracking_number}
    # merged: no longer suggested to anyone, nor offered suggestions
    assert cases["case"].public_id not in ids(similar_open_cases(actor=city.dispatcher, case=cases["same_text"]))
    assert "Possible duplicate" not in client.get(case_url(case)).content.decode()


def test_manual_queue_rows_show_suggestions_and_merge_in_place(city, cases, client):
    client = signed_in(client, city.dispatcher)
    page = client.get(reverse("hotline:desk_dispatch"), {"tab": "manual"}).content.decode()
    row = page[page.index(f'id="row-{cases["case"].public_id}"'):]
    row = row[:row.index("</tr>")]
    assert row.count('class="desk-row-similar"') == 2  # the best two on a row
    assert "Possible duplicate · 100% similar" in row
    assert f'data-similar="{cases["same_text"].public_id}"' in row
    assert f'data-similar="{cases["dispatched"].public_id}"' in row
    unrelated = page[page.index(f'id="row-{cases["unrelated"].public_id}"'):]
    assert 'class="desk-row-similar"' not in unrelated[:unrelated.index("</tr>")]

    response = client.post(merge_url(cases["case"]), {"merge-into": cases["same_text"].public_id, "row": "manual"},
                           HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    body = response.content.decode()
    assert "Merged into the other request." in body and "desk-row-similar" not in body
    assert Case.objects.get(pk=cases["case"].pk).merged_into_id == cases["same_text"].pk


def test_a_handler_cannot_merge_and_nothing_changes(city, cases, client):
    case, target = cases["case"], cases["dispatched"]
    before = snapshot(case, target)
    # the registered case is not the handler's: 404, however the suggestion was obtained
    response = signed_in(client, city.handler).post(merge_url(case), {"merge-into": target.public_id})
    assert response.status_code == 404
    # their own dispatched case: only new requests are merged, by the hotline (the service refuses;
    # a handler never sees a case in a state that allows merging)
    response = client.post(merge_url(target), {"merge-number": case.tracking_number})
    assert response.status_code == 409
    assert "Possible duplicate" not in client.get(case_url(target)).content.decode()
    assert snapshot(case, target) == before


def test_a_resident_gets_nothing(city, cases, client):
    case, target = cases["case"], cases["same_text"]
    before = snapshot(case, target)
    client = signed_in(client, city.resident)  # the reporter of both
    assert client.post(merge_url(case), {"merge-into": target.public_id}).status_code == 403
    assert client.get(case_url(case)).status_code == 403
    assert snapshot(case, target) == before
