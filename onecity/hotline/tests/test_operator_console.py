"""The operator console: who may use it, the caller look-up by exact number (this caller's
requests and never another's), requests taken down on a caller's behalf with the channel and the
operator recorded, answering directly from the knowledge base, and bad input changing nothing."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from onecity.core.crypto import lookup_hash
from onecity.core.errors import ApplicationError, PermissionDenied
from onecity.hotline.enums import Action, CaseState, Channel
from onecity.hotline.models import Case, CaseEvent, KnowledgeEntry
from onecity.hotline.selectors.operator import caller_lookup
from onecity.hotline.services.knowledge import case_answer_from_knowledge
from onecity.hotline.tests.support import advance, register
from onecity.identity.selectors.accounts import citizen_find_by_phone

pytestmark = pytest.mark.django_db

RESIDENT_PHONE = "13800138000"  # city.resident's number
HX = {"HTTP_HX_REQUEST": "true"}


def kb_entry(**extra) -> KnowledgeEntry:
    now = timezone.now()
    values = {"topic": "社保", "question": "社保卡丢了怎么补办？",
              "answer": "携带身份证到任一社保卡服务网点办理挂失补办，或在e福州App线上申请。", "keywords": "社保卡 补办",
              "created_at": now, "updated_at": now}
    return KnowledgeEntry.objects.create(**{**values, **extra})


@pytest.fixture
def history(city):
    """Requests of the resident (filed by themselves, and by phone with their number), of a caller
    without an account, and of another resident."""
    own = register(city)  # filed in the app: no contact number, linked by account
    by_phone = register(city, actor=city.operator, contact_phone=RESIDENT_PHONE, text="小区门口路灯不亮已经一周了。")
    advance(city, by_phone, CaseState.ANSWERED)
    stranger = register(city, actor=city.operator, contact_phone="13700137000")
    other = register(city, actor=city.other_resident, channel=Channel.APP, contact_phone=None)
    other_by_phone = register(city, actor=city.operator, contact_phone="13900139000")
    return {"own": own, "by_phone": by_phone, "stranger": stranger, "other": other, "other_by_phone": other_by_phone}


def form_data(city, **extra) -> dict:
    data = {"channel": "phone", "text": "仓山区金山大道有一棵树倒在人行道上，影响通行。", "title": "",
            "category": "", "district": city.district.pk, "address": "金山大道118号", "urgency": "normal",
            "contact_name": "林先生", "contact_phone": RESIDENT_PHONE, "action": "register"}
    data.update(extra)
    return data


# --- access ------------------------------------------------------------------------------------
def test_handlers_and_residents_are_refused(city, client, history):
    urls = [reverse("hotline:console"), reverse("hotline:console_knowledge") + "?q=社保"]
    for user in (city.handler, city.resident):
        client.force_login(user)
        for url in urls:
            assert client.get(url).status_code == 403
        assert client.post(reverse("hotline:console_lookup"), {"phone": RESIDENT_PHONE}).status_code == 403
        assert client.post(reverse("hotline:console_register"), form_data(city)).status_code == 403
    client.logout()
    assert client.get(reverse("hotline:console")).status_code == 302
    assert Case.objects.count() == 5
    with pytest.raises(PermissionDenied):
        caller_lookup(actor=city.handler, phone=RESIDENT_PHONE)


def test_supervisor_looks_up_but_does_not_take_requests(city, client, history):
    client.force_login(city.supervisor)
    page = client.get(reverse("hotline:console"))
    assert page.status_code == 200
    assert reverse("hotline:console_register") not in page.content.decode()
    assert client.post(reverse("hotline:console_lookup"), {"phone": RESIDENT_PHONE}).status_code == 200
    assert client.post(reverse("hotline:console_register"), form_data(city)).status_code == 403
    assert Case.objects.count() == 5


def test_console_shows_in_operator_navigation(city, client):
    client.force_login(city.operator)
    body = client.get(reverse("hotline:console")).content.decode()
    assert f'href="{reverse("hotline:console")}"' in body and f'href="{reverse("hotline:knowledge")}"' in body


# --- caller look-up ----------------------------------------------------------------------------
def test_lookup_finds_exactly_this_callers_requests(city, history):
    found = caller_lookup(actor=city.operator, phone="138 0013 8000")
    assert {c.public_id for c in found.cases} == {history["own"].public_id, history["by_phone"].public_id}
    assert found.phone_masked == "138****8000"
    assert found.citizen is not None and found.citizen.user_id == city.resident.pk
    assert (found.citizen.name_masked, found.citizen.is_verified) == ("林**", False)
    assert found.open_count == 1  # the answered one is closed

    stranger = caller_lookup(actor=city.operator, phone="13700137000")
    assert stranger.citizen is None
    assert [c.public_id for c in stranger.cases] == [history["stranger"].public_id]
    assert caller_lookup(actor=city.operator, phone="13600136000").cases == []


def test_lookup_page_masks_and_lists(city, client, history):
    client.force_login(city.operator)
    response = client.post(reverse("hotline:console_lookup"), {"phone": RESIDENT_PHONE}, **HX)
    body = response.content.decode()
    assert response.status_code == 200
    assert "138****8000" in body and "林**" in body
    assert history["own"].tracking_number in body and history["by_phone"].tracking_number in body
    for key in ("stranger", "other", "other_by_phone"):
        assert history[key].tracking_number not in body
    assert "林小明" not in body  # the name is masked
    # the create form's contact number is filled with the number typed (swapped in out of band)
    assert 'id="contact-phone-wrap" hx-swap-oob="true"' in body


def test_citizen_selector_needs_the_exact_number_of_an_active_citizen(city):
    assert citizen_find_by_phone("1380013800") is None  # one digit short: no partial matches
    assert citizen_find_by_phone(city.operator.phone or "13500135000") is None  # staff are not callers
    assert citizen_find_by_phone("+86 138-0013-8000").user_id == city.resident.pk
    city.resident.is_active = False
    city.resident.save(update_fields=["is_active"])
    assert citizen_find_by_phone(RESIDENT_PHONE) is None


@pytest.mark.parametrize("phone", ["", "1234", "23800138000", "1380013800a"])
def test_lookup_bad_number(city, client, history, phone):
    client.force_login(city.operator)
    response = client.post(reverse("hotline:console_lookup"), {"phone": phone}, **HX)
    assert response.status_code == 422
    assert 'class="field-error"' in response.content.decode()
    for key in history:
        assert history[key].tracking_number not in response.content.decode()


# --- taking a request down ---------------------------------------------------------------------
def test_request_on_behalf_records_channel_operator_and_caller(city, client, history):
    client.force_login(city.operator)
    response = client.post(reverse("hotline:console_register"), form_data(city, channel="wechat"), **HX)
    assert response.status_code == 200
    case = Case.objects.get(address="金山大道118号")
    body = response.content.decode()
    assert case.tracking_number in body
    # the caller's history is refreshed out of band, with the new request and the earlier ones
    assert 'id="caller" aria-labelledby="caller-title" hx-swap-oob="true"' in body
    assert body.count(case.tracking_number) >= 2 and history["own"].tracking_number in body
    assert history["stranger"].tracking_number not in body
    assert (case.channel, case.state, case.registered_by_id, case.reporter_id) == (
        Channel.WECHAT, CaseState.REGISTERED, city.operator.pk, city.resident.pk)
    assert case.contact_phone_hash == lookup_hash(RESIDENT_PHONE, purpose="phone")
    assert (case.contact_name, case.anonymous) == ("林先生", False)
    event = CaseEvent.objects.get(case=case, action=Action.REGISTER)
    assert (event.actor_id, event.data) == (city.operator.pk, {"channel": "wechat"})
    # it is now among the caller's requests
    assert case.public_id in {c.public_id for c in caller_lookup(actor=city.operator, phone=RESIDENT_PHONE).cases}


def test_anonymous_caller_without_account(city, client):
    client.force_login(city.operator)
    response = client.post(reverse("hotline:console_register"),
                           form_data(city, channel="mayor_mailbox", contact_phone="13600136000", anonymous="on"))
    assert response.status_code == 302  # without htmx: back to the console with a message
    case = Case.objects.get()
    assert (case.channel, case.reporter_id, case.anonymous, case.contact_name) == (
        Channel.MAYOR_MAILBOX, None, True, "")


@pytest.mark.parametrize("changes, field", [
    ({"text": ""}, "text"),
    ({"text": "太短"}, "text"),
    ({"district": ""}, "district"),
    ({"district": "999999"}, "district"),
    ({"address": " "}, "address"),
    ({"channel": "web"}, "channel"),  # the console records phone, WeChat or the mayor's mailbox
    ({"channel": "open311"}, "channel"),
    ({"contact_phone": "12345"}, "contact_phone"),
    ({"contact_phone": ""}, "contact_phone"),  # nobody to answer
    ({"urgency": "extreme"}, "urgency"),
    ({"category": "999999"}, "category"),
])
def test_bad_request_input_changes_nothing(city, client, history, changes, field):
    client.force_login(city.operator)
    before = Case.objects.count()
    response = client.post(reverse("hotline:console_register"), form_data(city, **changes), **HX)
    assert response.status_code == 422
    body = response.content.decode()
    assert 'class="field-error"' in body or "alert-danger" in body
    assert Case.objects.count() == before and CaseEvent.objects.filter(action=Action.REGISTER).count() == before


# --- answering directly --------------------------------------------------------------------------
def test_answer_directly_closes_with_the_entry_recorded(city, client):
    entry = kb_entry(use_count=4)
    client.force_login(city.operator)
    pick = client.get(reverse("hotline:console_pick", args=[entry.public_id]), **HX)
    assert pick.status_code == 200 and entry.public_id in pick.content.decode()
    response = client.post(reverse("hotline:console_register"), form_data(
        city, text="我的社保卡丢了，请问怎么补办？", action="answer", entry=entry.public_id, answer=""), **HX)
    assert response.status_code == 200
    case = Case.objects.get()
    assert (case.state, case.reply, case.registered_by_id) == (CaseState.ANSWERED, entry.answer, city.operator.pk)
    assert case.closed_at is not None
    event = CaseEvent.objects.get(case=case, action=Action.ANSWER)
    assert (event.data, event.actor_id, event.to_state) == ({"knowledge_entry": entry.public_id}, city.operator.pk,
                                                           CaseState.ANSWERED)
    entry.refresh_from_db()
    assert entry.use_count == 5


def test_answer_directly_with_own_words(city, client):
    entry = kb_entry()
    client.force_login(city.operator)
    client.post(reverse("hotline:console_register"), form_data(
        city, text="社保卡丢了怎么办？", action="answer", entry=entry.public_id, answer="请到社保卡网点挂失补办。"), **HX)
    assert Case.objects.get().reply == "请到社保卡网点挂失补办。"


def test_register_button_ignores_a_picked_entry(city, client):
    entry = kb_entry()
    client.force_login(city.operator)
    client.post(reverse("hotline:console_register"), form_data(city, action="register", entry=entry.public_id), **HX)
    assert Case.objects.get().state == CaseState.REGISTERED
    entry.refresh_from_db()
    assert entry.use_count == 0


@pytest.mark.parametrize("entry_state", ["inactive", "unknown"])
def test_answer_with_unavailable_entry_changes_nothing(city, client, entry_state):
    entry = kb_entry(is_active=False)
    client.force_login(city.operator)
    entry_id = entry.public_id if entry_state == "inactive" else "0" * 26
    response = client.post(reverse("hotline:console_register"),
                           form_data(city, action="answer", entry=entry_id), **HX)
    assert response.status_code == 422
    assert "no longer available" in response.content.decode() or "已不可用" in response.content.decode()
    assert Case.objects.count() == 0
    entry.refresh_from_db()
    assert entry.use_count == 0
    assert client.get(reverse("hotline:console_pick", args=[entry_id]), **HX).status_code == 404


def test_answer_existing_case_counts_every_use(city):
    entry = kb_entry()
    first, second = register(city), register(city)
    case_answer_from_knowledge(actor=city.operator, case_id=first.public_id, entry_id=entry.public_id)
    case_answer_from_knowledge(actor=city.dispatcher, case_id=second.public_id, entry_id=entry.public_id)
    entry.refresh_from_db()
    assert entry.use_count == 2
    # a handler may not answer; nothing changes
    third = register(city)
    with pytest.raises(ApplicationError):
        case_answer_from_knowledge(actor=city.handler, case_id=third.public_id, entry_id=entry.public_id)
    third.refresh_from_db()
    entry.refresh_from_db()
    assert (third.state, entry.use_count) == (CaseState.REGISTERED, 2)


def test_knowledge_panel_search(city, client):
    entry = kb_entry()
    kb_entry(question="公交卡余额怎么查询？", answer="在乘车码页面查询。", keywords="公交卡", topic="公共交通")
    client.force_login(city.operator)
    response = client.get(reverse("hotline:console_knowledge"), {"q": "社保卡补办"}, **HX)
    body = response.content.decode()
    assert response.status_code == 200
    assert entry.question in body and "公交卡余额怎么查询？" not in body
    assert reverse("hotline:console_pick", args=[entry.public_id]) in body
