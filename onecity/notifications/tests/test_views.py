"""The resident message centre and the development SMS inbox, as users meet them."""

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from onecity.core.crypto import lookup_hash
from onecity.notifications.enums import Channel, MessageState
from onecity.notifications.models import Message
from onecity.notifications.services import message_enqueue
from onecity.notifications.templatetags.notifications import unread_message_count

INBOX = "/notifications/"
DEV = "/notifications/dev/sms/"


def make_user(name):
    return get_user_model().objects.create_user(username=name, password=f"pw-{name}-123456")


def sms(phone, body, *, recipient=None, template="notice", minutes_ago=0):
    at = timezone.now() - dt.timedelta(minutes=minutes_ago)
    return Message.objects.create(channel=Channel.SMS, address=phone, address_masked=phone[:3] + "****" + phone[-4:],
                                  address_hash=lookup_hash(phone, purpose="phone"),
                                  template=template, body=body, recipient=recipient, state=MessageState.DELIVERED,
                                  created_at=at, sent_at=at)


def notice(user, body, *, minutes_ago=0):
    message = message_enqueue(channel=Channel.IN_APP, template="notice", body=body, recipient=user,
                              subject="Subject " + body)
    Message.objects.filter(pk=message.pk).update(created_at=timezone.now() - dt.timedelta(minutes=minutes_ago))
    return message


def test_url_names():
    assert reverse("notifications:inbox") == INBOX
    assert reverse("notifications:dev_inbox") == DEV


@pytest.mark.django_db
def test_inbox_requires_sign_in(client):
    response = client.get(INBOX)
    assert response.status_code == 302
    assert response["Location"] == f"/login/?next={INBOX}"


@pytest.mark.django_db
def test_inbox_lists_only_my_messages_newest_first(client):
    alice, bob = make_user("alice"), make_user("bob")
    notice(alice, "older-for-alice", minutes_ago=10)
    notice(alice, "newer-for-alice", minutes_ago=1)
    sms("13800138000", "sms-for-alice", recipient=alice, minutes_ago=5)
    notice(bob, "secret-for-bob")
    sms("13900139000", "sms-for-bob", recipient=bob)
    client.force_login(alice)
    response = client.get(INBOX, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    html = response.content.decode()
    assert "secret-for-bob" not in html
    assert "sms-for-bob" not in html
    assert html.index("newer-for-alice") < html.index("sms-for-alice") < html.index("older-for-alice")
    assert [i["message"].body for i in response.context["items"]] == [
        "newer-for-alice", "sms-for-alice", "older-for-alice"]
    assert response.context["unread"] == 3
    assert "3 unread messages" in html
    assert "Text message to 138****8000: Delivered" in html


@pytest.mark.django_db
def test_inbox_hides_one_time_codes(client):
    alice = make_user("alice")
    sms("13800138000", "【e福州】您正在登录，验证码 482913，5分钟内有效。", recipient=alice, template="otp_login")
    client.force_login(alice)
    html = client.get(INBOX, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "482913" not in html
    assert "A verification code was sent to 138****8000 by SMS." in html


@pytest.mark.django_db
def test_inbox_in_chinese(client):
    alice = make_user("alice")
    notice(alice, "hello")
    client.force_login(alice)
    html = client.get(INBOX, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "消息中心" in html
    assert "1 条未读消息" in html
    assert "标为已读" in html


@pytest.mark.django_db
def test_mark_read_own_message(client):
    alice = make_user("alice")
    message = notice(alice, "hello")
    client.force_login(alice)
    response = client.post(reverse("notifications:mark_read", args=[message.public_id]))
    assert response.status_code == 302
    assert response["Location"] == INBOX
    message.refresh_from_db()
    assert message.read_at is not None


@pytest.mark.django_db
def test_mark_read_with_htmx_returns_the_item_and_the_new_count(client):
    alice = make_user("alice")
    message = notice(alice, "hello")
    notice(alice, "other")
    client.force_login(alice)
    response = client.post(reverse("notifications:mark_read", args=[message.public_id]),
                           HTTP_HX_REQUEST="true", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    html = response.content.decode()
    assert f'id="message-{message.public_id}"' in html
    assert "Mark as read" not in html
    assert 'hx-swap-oob="true"' in html
    assert "1 unread message" in html


@pytest.mark.django_db
def test_another_users_message_cannot_be_marked_read(client):
    alice, bob = make_user("alice"), make_user("bob")
    bobs = notice(bob, "bob's")
    client.force_login(alice)
    response = client.post(reverse("notifications:mark_read", args=[bobs.public_id]))
    missing = client.post(reverse("notifications:mark_read", args=["01J0000000000000000000000X"]))
    assert response.status_code == missing.status_code == 404
    bobs.refresh_from_db()
    assert bobs.read_at is None


@pytest.mark.django_db
def test_mark_read_needs_post(client):
    alice = make_user("alice")
    message = notice(alice, "hello")
    client.force_login(alice)
    assert client.get(reverse("notifications:mark_read", args=[message.public_id])).status_code == 405
    message.refresh_from_db()
    assert message.read_at is None


@pytest.mark.django_db
def test_mark_all_read_touches_only_mine(client):
    alice, bob = make_user("alice"), make_user("bob")
    notice(alice, "a1")
    notice(alice, "a2")
    notice(bob, "b1")
    client.force_login(alice)
    response = client.post(reverse("notifications:mark_all_read"))
    assert response.status_code == 302
    assert Message.objects.filter(recipient=alice, read_at__isnull=True).count() == 0
    assert Message.objects.filter(recipient=bob, read_at__isnull=True).count() == 1


@pytest.mark.django_db
def test_unread_count_tag(rf):
    alice, bob = make_user("alice"), make_user("bob")
    notice(alice, "a1")
    notice(alice, "a2")
    notice(bob, "b1")
    request = rf.get("/")
    request.user = alice
    assert unread_message_count({"request": request}) == 2
    anonymous = rf.get("/")
    from django.contrib.auth.models import AnonymousUser

    anonymous.user = AnonymousUser()
    assert unread_message_count({"request": anonymous}) == 0


@pytest.mark.django_db
def test_dev_inbox_lists_every_sms_newest_first_with_full_text(client):
    sms("13800138000", "code 111111", minutes_ago=3)
    sms("13900139000", "code 222222", minutes_ago=1)
    Message.objects.create(channel=Channel.IN_APP, template="n", body="in-app-body")
    response = client.get(DEV, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 200
    html = response.content.decode()
    assert "开发环境短信收件箱 — 生产环境不可用" in html
    assert html.index("code 222222") < html.index("code 111111")
    assert "138****8000" in html and "139****9000" in html
    assert "13800138000" not in html
    assert "in-app-body" not in html
    assert 'hx-trigger="every 3s"' in html
    assert response["Cache-Control"].startswith("max-age=0")


@pytest.mark.django_db
def test_dev_inbox_filters_by_phone(client):
    sms("13800138000", "code 111111")
    sms("13900139000", "code 222222")
    response = client.get(DEV, {"phone": "+86 139 0013 9000"}, HTTP_ACCEPT_LANGUAGE="en")
    html = response.content.decode()
    assert [i["message"].body for i in response.context["sent"]] == ["code 222222"]
    assert "code 111111" not in html
    assert 'hx-get="/notifications/dev/sms/?phone=13900139000"' in html
    assert "1 message to 139****9000" in html


@pytest.mark.django_db
def test_dev_inbox_bad_phone_shows_error_next_to_field(client):
    sms("13800138000", "code 111111")
    response = client.get(DEV, {"phone": "12"}, HTTP_ACCEPT_LANGUAGE="en")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="id_phone_error"' in html
    assert "Please enter an 11-digit mainland China mobile number." in html
    assert "code 111111" not in html


@pytest.mark.django_db
def test_dev_inbox_htmx_refresh_returns_the_list_only(client):
    sms("13800138000", "code 111111")
    response = client.get(DEV, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="dev-sms-list"')
    assert "code 111111" in html
    assert "<html" not in html


@pytest.mark.django_db
@override_settings(DEV_INBOX=False)
def test_dev_inbox_is_404_when_disabled(client):
    sms("13800138000", "code 111111")
    response = client.get(DEV)
    assert response.status_code == 404
    assert "code 111111" not in response.content.decode()
    assert client.get(DEV, HTTP_HX_REQUEST="true").status_code == 404


@pytest.mark.django_db
def test_message_bell_shows_my_unread_count(client):
    alice, bob = make_user("alice"), make_user("bob")
    notice(alice, "one")
    notice(alice, "two")
    notice(bob, "not mine")
    client.force_login(alice)
    html = client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'aria-label="Messages (2 unread)"' in html and '<span class="nav-badge" aria-hidden="true">2</span>' in html
    client.force_login(bob)
    html = client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'aria-label="Messages (1 unread)"' in html and '<span class="nav-badge" aria-hidden="true">1</span>' in html


@pytest.mark.django_db
def test_message_bell_is_not_current_on_the_dev_inbox(client):
    client.force_login(make_user("alice"))
    html = client.get(DEV, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f'href="{INBOX}" aria-current="page"' not in html
    html = client.get(INBOX, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f'href="{INBOX}" aria-current="page"' in html
