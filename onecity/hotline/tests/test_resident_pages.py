"""Resident pages: report a problem (every bad field changes nothing), my requests (only one's own),
the timeline (units, never staff names), rating and reopening, the signed rating link from the
SMS, and the public knowledge base."""

from __future__ import annotations

import io
import re
import time
from unittest import mock

import pytest
from django.core import signing
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from onecity.hotline.enums import Satisfaction
from onecity.hotline.models import Attachment, Case, CaseEvent, KnowledgeEntry
from onecity.hotline.selectors.knowledge import knowledge_search
from onecity.hotline.selectors.knowledge_public import knowledge_browse_public
from onecity.hotline.services import cases as svc
from onecity.hotline.services.rating_link import rating_token_make, rating_url
from onecity.hotline.tests.support import S, advance, register
from onecity.notifications.models import Message

REPORT = "/hotline/report/"


def png(color=(10, 120, 200), size=(80, 60)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format="PNG")
    return out.getvalue()


def good_post(city, **extra):
    data = {"text": "鼓楼区五四路88号门口的路灯坏了一周，晚上很黑，老人走路容易摔倒。", "category": "",
            "district": str(city.district.pk), "address": "五四路88号门口", "latitude": "26.085300",
            "longitude": "119.302100", "contact_phone": ""}
    data.update(extra)
    return data


def counts():
    return Case.objects.count(), CaseEvent.objects.count(), Attachment.objects.count()


@pytest.fixture
def resident_client(client, city):
    client.force_login(city.resident)
    return client


@pytest.mark.django_db
def test_report_needs_a_signed_in_resident(client, city):
    response = client.get(REPORT)
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    client.force_login(city.operator)
    assert client.get(REPORT).status_code == 403
    assert client.post(REPORT, good_post(city)).status_code == 403
    assert counts() == (0, 0, 0)


@pytest.mark.django_db
def test_report_form_lists_districts_and_masks_the_account_phone(resident_client, city):
    html = resident_client.get(REPORT).content.decode()
    assert "鼓楼区人民政府" in html and "台江区人民政府" in html
    assert "福州市水务局" not in html  # departments are not districts
    assert "138****8000" in html and "13800138000" not in html


@pytest.mark.django_db
def test_report_creates_a_web_request_with_photos(resident_client, city):
    photo = SimpleUploadedFile("road.png", png(), content_type="image/png")
    response = resident_client.post(REPORT, good_post(city, photos=[photo], anonymous="on",
                                                      category=str(city.roads.pk)))
    case = Case.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/hotline/report/done/{case.public_id}/"
    assert (case.channel, case.state, case.reporter, case.anonymous, case.category, case.district) == (
        "web", S.REGISTERED, city.resident, True, city.roads, city.district)
    assert (str(case.latitude), str(case.longitude), case.contact_phone) == ("26.085300", "119.302100", "")
    assert Attachment.objects.get(case=case).content_type == "image/png"
    page = resident_client.get(response["Location"]).content.decode()
    assert case.tracking_number in page
    assert "12345热线将进行核实并受理" in page


@pytest.mark.django_db
@pytest.mark.parametrize(("field", "value", "message"), [
    ("text", "", "必填项"),
    ("text", "坏了", "至少"),
    ("district", "", "必填项"),
    ("district", "999999", "选择一个有效的选项"),
    ("address", "", "必填项"),
    ("latitude", "95", "小于或等于90"),
    ("longitude", "", "经度和纬度"),
    ("contact_phone", "12345", "手机号"),
    ("category", "999999", "选择一个有效的选项"),
])
def test_each_bad_field_is_shown_next_to_it_and_nothing_is_created(resident_client, city, field, value, message):
    photo = SimpleUploadedFile("road.png", png(color=(1, 1, 1)), content_type="image/png")
    response = resident_client.post(REPORT, good_post(city, photos=[photo], **{field: value}))
    assert response.status_code == 422
    errors = response.context["form"].errors
    error_field = "latitude" if field == "longitude" else field
    assert error_field in errors, errors
    assert message in " ".join(errors[error_field]) or message in response.content.decode()
    assert counts() == (0, 0, 0)
    assert "请在提交前重新选择" in response.content.decode()
    _, files = default_storage.listdir("hotline/attachments") if default_storage.exists("hotline/attachments") \
        else ([], [])
    assert files == []


@pytest.mark.django_db
@pytest.mark.parametrize("case_name", ["text_as_jpg", "oversize", "seven"])
def test_bad_photos_are_refused_and_nothing_is_created(resident_client, city, case_name):
    if case_name == "text_as_jpg":
        photos = [SimpleUploadedFile("photo.jpg", b"not an image, just text\n" * 20, content_type="image/jpeg")]
        expected = "不是 JPEG、PNG 或 WebP 格式的照片"
    elif case_name == "oversize":
        photos = [SimpleUploadedFile("big.png", png() + b"\0" * (5 * 1024 * 1024), content_type="image/png")]
        expected = "超过 5 MB"
    else:
        photos = [SimpleUploadedFile(f"{i}.png", png(color=(i, 0, 0)), content_type="image/png") for i in range(7)]
        expected = "最多可上传 6 张照片"
    response = resident_client.post(REPORT, good_post(city, photos=photos))
    assert response.status_code == 422
    assert expected in " ".join(response.context["form"].errors["photos"])
    assert counts() == (0, 0, 0)


@pytest.mark.django_db
def test_my_requests_list_only_my_own(resident_client, city):
    mine = register(city)
    theirs = register(city, actor=city.other_resident, channel="app", text="台江区某小区噪音扰民，每晚十点后仍在施工。")
    html = resident_client.get("/hotline/my/").content.decode()
    assert mine.tracking_number in html and theirs.tracking_number not in html
    assert "已登记" in html or "登记" in html


@pytest.mark.django_db
def test_other_residents_and_staff_get_404(client, city):
    case = register(city)
    urls = [f"/hotline/my/{case.public_id}/", f"/hotline/report/done/{case.public_id}/"]
    client.force_login(city.other_resident)
    for url in urls:
        assert client.get(url).status_code == 404
    assert client.post(f"/hotline/my/{case.public_id}/rate/", {"satisfaction": "satisfied"}).status_code == 404
    assert client.get("/hotline/my/no-such-id/").status_code == 404
    client.force_login(city.operator)  # staff use the staff pages
    assert client.get(urls[0]).status_code == 403
    assert client.get("/hotline/my/").status_code == 403


@pytest.mark.django_db
def test_timeline_names_units_never_staff(resident_client, city, clock):
    case = advance(city, register(city), S.REPLIED)
    html = resident_client.get(f"/hotline/my/{case.public_id}/").content.decode()
    for name in ("operator", "dispatcher", "handler", "同志"):
        assert name not in html
    timeline = html[html.index('class="timeline"'):]
    titles = re.findall(r'<span class="timeline-title">([^<]+)</span>', timeline)
    assert titles == ["已办结回复", "开始办理", "已签收", "已派单", "已受理", "已登记"]
    assert "福州市城市管理委员会" in timeline and "12345热线" not in timeline.split("已受理")[0]
    assert "2026年11月23日 10:00" in timeline  # Asia/Shanghai
    assert "已安排修补，路面已恢复。" in html  # the reply
    assert 'name="satisfaction"' in html  # rating offered after the reply


@pytest.mark.django_db
def test_rate_after_reply_and_reopen_after_close(resident_client, city, clock):
    case = advance(city, register(city), S.REPLIED)
    url = f"/hotline/my/{case.public_id}/rate/"
    response = resident_client.post(url, {"satisfaction": "not_satisfied", "note": ""})
    assert response.status_code == 422
    case.refresh_from_db()
    assert (case.state, case.satisfaction) == (S.REPLIED, "")
    response = resident_client.post(url, {"satisfaction": "satisfied", "note": "修得很快"})
    assert response.status_code == 302
    case.refresh_from_db()
    assert (case.state, case.satisfaction, case.satisfaction_note) == (S.VISITED, "satisfied", "修得很快")
    assert CaseEvent.objects.filter(case=case, action="visit", actor=city.resident).count() == 1
    svc.case_close(actor=city.operator, case_id=case.public_id)
    html = resident_client.get(f"/hotline/my/{case.public_id}/").content.decode()
    assert 'name="reason"' in html
    response = resident_client.post(f"/hotline/my/{case.public_id}/reopen/", {"reason": "路灯又坏了"})
    assert response.status_code == 302
    case.refresh_from_db()
    assert (case.state, case.reopened_count) == (S.ACCEPTED, 1)


@pytest.mark.django_db
def test_reopen_refused_after_the_window(resident_client, city, clock):
    case = advance(city, register(city), S.CLOSED)
    clock.advance(days=16)
    resident_client.force_login(city.resident)  # the session of 16 days ago has expired
    html = resident_client.get(f"/hotline/my/{case.public_id}/").content.decode()
    assert 'name="reason"' not in html
    response = resident_client.post(f"/hotline/my/{case.public_id}/reopen/", {"reason": "又坏了"})
    assert response.status_code == 422
    case.refresh_from_db()
    assert (case.state, case.reopened_count) == (S.CLOSED, 0)


@pytest.mark.django_db
def test_reply_sms_carries_a_signed_rating_link_that_works(client, city, clock, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        case = advance(city, register(city), S.REPLIED)
    body = Message.objects.get(template="hotline.replied").body
    link = re.search(r"http://\S+/hotline/rate/(\S+)/", body)
    assert link, body
    assert "7天内" in body
    token = link.group(1)
    path = f"/hotline/rate/{token}/"
    assert client.get(path).status_code == 302  # sign in first
    client.force_login(city.other_resident)  # bound to the reporter
    assert client.get(path).status_code == 404
    assert client.post(path, {"satisfaction": "satisfied"}).status_code == 404
    client.force_login(city.resident)
    assert client.get(path).status_code == 200
    response = client.post(path, {"satisfaction": "basically_satisfied", "note": ""})
    assert response.status_code == 302
    case.refresh_from_db()
    assert (case.state, case.satisfaction) == (S.VISITED, Satisfaction.BASICALLY_SATISFIED)


@pytest.mark.django_db
def test_tampered_or_expired_rating_link_changes_nothing(client, city, clock):
    case = advance(city, register(city), S.REPLIED)
    client.force_login(city.resident)
    token = rating_token_make(case_id=case.public_id, reporter_id=city.resident.pk)
    tampered = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    forged = signing.dumps({"c": case.public_id, "r": city.resident.pk}, salt="another.purpose", compress=True)
    for bad in (tampered, forged):
        response = client.post(f"/hotline/rate/{bad}/", {"satisfaction": "satisfied"})
        assert response.status_code == 400
    # the signature's timestamp uses the system clock: eight days later the link has expired
    with mock.patch("time.time", return_value=time.time() + 8 * 86400):
        response = client.post(f"/hotline/rate/{token}/", {"satisfaction": "satisfied"})
    assert response.status_code == 410
    assert "已过期" in response.content.decode()
    case.refresh_from_db()
    assert (case.state, case.satisfaction) == (S.REPLIED, "")
    assert CaseEvent.objects.filter(case=case, action="visit").count() == 0
    assert rating_url(case_id=case.public_id, reporter_id=city.resident.pk).startswith("http")


def kb(topic, question, answer, keywords="", public=True, active=True, uses=0):
    now = timezone.now()
    return KnowledgeEntry.objects.create(topic=topic, question=question, answer=answer, keywords=keywords,
                                         is_public=public, is_active=active, use_count=uses, created_at=now,
                                         updated_at=now)


@pytest.mark.django_db
def test_knowledge_base_search_is_public_only_and_ranked_by_words_matched(client):
    card = kb("社保", "社保卡丢了怎么补办？", "携带身份证到任一社保服务网点办理挂失补办。", "社会保障卡 挂失", uses=5)
    kb("社保", "内部：社保系统故障应急流程", "仅限话务员。", "社保 故障", public=False)
    kb("社保", "已停用的社保问题", "过时答复。", "社保", active=False)
    summit = kb("峰会", "数字中国峰会期间哪些道路管制？", "请关注交警发布的管制公告。", "交通 管制")

    def found(q, topic=""):
        return [hit.public_id for hit in knowledge_search(q, public_only=True, topic=topic)]

    assert found("社保") == [card.public_id]
    # a whole sentence, as residents type it: jieba cuts it into words
    assert found("我的社保卡丢了，怎么补办") == [card.public_id]
    assert found("社保卡 峰会") == [card.public_id, summit.public_id]  # one word each; more used first
    assert found("峰会期间道路管制") == [summit.public_id]
    assert found("管制", topic="社保") == []
    assert found("挂失") == [card.public_id]  # keywords count
    assert list(knowledge_browse_public(topic="峰会")) == [summit]
    html = client.get("/hotline/answers/", {"q": "补办"}).content.decode()
    assert "社保卡丢了怎么补办？" in html and "数字中国峰会" not in html and "内部" not in html
    html = client.get("/hotline/answers/", {"topic": "峰会"}).content.decode()
    assert "数字中国峰会" in html and "社保卡丢了" not in html
    html = client.get("/hotline/answers/").content.decode()
    assert "社保 (1)" in html and "峰会 (1)" in html


@pytest.mark.django_db
def test_resident_reminds_the_unit_once_a_day(resident_client, city, clock):
    from onecity.hotline.models import SupervisionNote

    case = advance(city, register(city), S.DISPATCHED)
    url = f"/hotline/my/{case.public_id}/remind/"
    assert resident_client.post(url, {"note": ""}).status_code == 422
    assert SupervisionNote.objects.count() == 0
    assert resident_client.post(url, {"note": "坑越来越大了，请尽快处理"}).status_code == 302
    note = SupervisionNote.objects.get()
    assert (note.kind, note.author, note.unit, note.note) == ("remind", city.resident, city.unit, "坑越来越大了，请尽快处理")
    assert resident_client.post(url, {"note": "再催一次"}).status_code == 302  # refused: once a day
    assert SupervisionNote.objects.count() == 1
    form_action = f'action="/hotline/my/{case.public_id}/remind/"'
    assert form_action not in resident_client.get(f"/hotline/my/{case.public_id}/").content.decode()
    clock.advance(hours=25)
    resident_client.force_login(city.resident)
    assert form_action in resident_client.get(f"/hotline/my/{case.public_id}/").content.decode()
    other = register(city, actor=city.other_resident, channel="app")
    assert resident_client.post(f"/hotline/my/{other.public_id}/remind/", {"note": "催"}).status_code == 404
