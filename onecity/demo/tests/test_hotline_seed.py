"""The demo hotline: categories (the 7 labels of the shared data among the top level), a matrix for
all 13 districts, a knowledge base, requests in every state with consistent events and
deadlines, a trained classifier — and a second run adds nothing."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.db.models import Count, F
from django.utils import timezone

from onecity.analytics.models import CITY
from onecity.analytics.selectors import hotline_stats_totals
from onecity.demo import seeding
from onecity.demo.hotline import loader
from onecity.hotline.enums import Action, CaseState
from onecity.hotline.models import (
    Case,
    CaseEvent,
    Category,
    ClassifierVersion,
    DispatchRoute,
    KnowledgeEntry,
    TimeLimitRule,
)
from onecity.hotline.selectors import route_unit_id_for
from onecity.hotline.services.cases import reopen_window
from onecity.hotline.services.classifier_versions import active_model
from onecity.identity.enums import OrganizationKind, Role
from onecity.identity.models import Organization, StaffRole, User

pytestmark = pytest.mark.django_db
SHARED_LABELS = {"劳动和社会保障", "城乡建设", "教育文体", "商贸旅游", "环境保护", "卫生计生", "交通运输"}


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *settings.PASSWORD_HASHERS]


def _seed() -> str:
    out = io.StringIO()
    call_command("seed", demo=True, small=True, skip_migrate=True, stdout=out)
    return out.getvalue()


def _counts() -> dict:
    return {model.__name__: model.objects.count() for model in (
        Case, CaseEvent, Category, DispatchRoute, KnowledgeEntry, TimeLimitRule, ClassifierVersion, User,
        StaffRole)}


def test_demo_hotline_in_every_state_and_seeding_twice_changes_nothing():
    output = _seed()
    assert f"{seeding.SMALL.hotline_cases} hotline requests" in output

    # categories: two levels, the shared data's labels among the top level, English names
    tops = Category.objects.filter(parent__isnull=True)
    assert set(tops.values_list("name", flat=True)) >= SHARED_LABELS
    assert {"噪音扰民", "污水排放", "违章搭建", "征地拆迁", "婚姻登记", "入学招生", "房屋租赁", "企业税务",
            "劳动保障/欠薪"} <= set(Category.objects.filter(parent__isnull=False).values_list("name", flat=True))
    assert not Category.objects.filter(name_en="").exists()
    assert not tops.annotate(n=Count("children")).filter(n=0).exists()

    # the matrix: every second-level category in all 13 districts, to a first-level unit
    districts = Organization.objects.filter(kind=OrganizationKind.DISTRICT)
    leaves = Category.objects.filter(parent__isnull=False)
    assert DispatchRoute.objects.count() == leaves.count() * 13
    assert set(DispatchRoute.objects.values_list("unit__kind", flat=True)) == {
        OrganizationKind.DISTRICT, OrganizationKind.DEPARTMENT}
    gulou = districts.get(region_code="350102")
    noise = Category.objects.get(code="environment.noise")
    assert route_unit_id_for(category_id=noise.pk, district_id=gulou.pk) == gulou.pk
    tax = Category.objects.get(code="commerce.tax")
    assert Organization.objects.get(pk=route_unit_id_for(category_id=tax.pk, district_id=gulou.pk)).name == \
        "国家税务总局福州市税务局"
    assert TimeLimitRule.objects.filter(category__code="utilities").exists()

    # knowledge base, with the summit's topic
    assert KnowledgeEntry.objects.count() == len(loader.load("knowledge.json")) >= 40
    assert KnowledgeEntry.objects.filter(topic="数字中国建设峰会").count() >= 5

    # requests in every state, spread over districts, channels and categories
    assert set(Case.objects.values_list("state", flat=True)) == set(CaseState.values)
    assert Case.objects.exclude(state=CaseState.MERGED).count() >= seeding.SMALL.hotline_cases
    assert Case.objects.values("district").distinct().count() >= 10
    by_channel = dict(Case.objects.values_list("channel").annotate(n=Count("id")))
    assert max(by_channel, key=by_channel.get) == "phone"
    assert Case.objects.values("category").distinct().count() >= 15
    assert Case.objects.values("tracking_number").distinct().count() == Case.objects.count()
    for action in (Action.RETURN, Action.REDO, Action.SUB_DISPATCH, Action.MERGE):
        assert CaseEvent.objects.filter(action=action).exists(), action

    # consistent clocks: events in order, deadlines after their start, closed ones replied first
    closed = Case.objects.filter(state=CaseState.CLOSED)
    assert not closed.filter(closed_at__lt=F("replied_at")).exists()
    assert not Case.objects.filter(sign_due_at__lt=F("dispatched_at")).exists()
    assert not Case.objects.filter(handle_due_at__lt=F("signed_at")).exists()
    for case in Case.objects.exclude(state=CaseState.MERGED).prefetch_related("events")[:60]:
        events = list(case.events.all())
        assert events[0].action == Action.REGISTER and events[0].at == case.created_at
        assert [e.at for e in events] == sorted(e.at for e in events)
        transitions = [e for e in events if e.to_state]
        assert transitions[-1].to_state == case.state
        assert case.state_entered_at == transitions[-1].at
    # satisfaction and on-time rates as a well-run city's
    visited = closed.exclude(satisfaction="not_reached")
    satisfied = visited.filter(satisfaction__in=["satisfied", "basically_satisfied"]).count()
    assert satisfied / visited.count() >= 0.95
    assert closed.filter(replied_at__gt=F("handle_due_at")).count() / closed.count() <= 0.05

    # residents reopened a few closed requests within the window (the reopen service and its
    # events): most were dispatched again, handled again and closed; four are being handled again
    reopened = Case.objects.filter(reopened_count__gt=0)
    assert round(seeding.SMALL.hotline_cases * loader.REOPEN_SHARE) == 3 and loader.REOPEN_OPEN == 4
    assert reopened.count() == reopened.filter(reopened_count=1).count() == 7
    assert dict(reopened.values_list("state").annotate(n=Count("id"))) == {
        CaseState.CLOSED: 3, CaseState.ACCEPTED: 1, CaseState.DISPATCHED: 1, CaseState.SIGNED: 1,
        CaseState.IN_PROGRESS: 1}
    window = reopen_window()
    for case in reopened.select_related("reporter").prefetch_related("events"):
        events = list(case.events.all())
        assert [e.at for e in events] == sorted(e.at for e in events)
        [reopen] = [e for e in events if e.action == Action.REOPEN]
        before = events[events.index(reopen) - 1]
        assert (before.action, reopen.from_state, reopen.to_state) == (Action.CLOSE, CaseState.CLOSED,
                                                                       CaseState.ACCEPTED)
        assert before.at < reopen.at <= before.at + window
        # by the resident in the app, or by the operator the resident phoned
        assert reopen.actor_id == (case.reporter_id or User.objects.get(username="operator").pk)
        assert [e.to_state for e in events if e.to_state][-1] == case.state
        if case.state == CaseState.CLOSED:
            assert case.closed_at > reopen.at and case.replied_at > reopen.at and case.satisfaction
            assert [e.action for e in events].count(Action.REPLY) == 2
    # the statistics read model counts them: the reopen rate is no longer zero
    first, last = Case.objects.earliest("created_at").created_at, Case.objects.latest("created_at").created_at
    totals = hotline_stats_totals(scope=CITY, start=timezone.localdate(first), end=timezone.localdate(last))
    assert totals.reopened == 7
    assert totals.reopen_rate == 7 / Case.objects.exclude(state=CaseState.MERGED).count()

    # each unit that gets requests has a handler
    for unit_id in set(DispatchRoute.objects.values_list("unit_id", flat=True)):
        assert User.objects.filter(organization_id=unit_id, roles__role=Role.DEPARTMENT_HANDLER).exists()

    # the classifier learned the demo history and is active
    version = ClassifierVersion.objects.get(is_active=True)
    assert version.source == "demo" and version.n_train >= 100
    # (the small seed's history is dated relative to today and holds only a few categories, so
    # no single prediction is stable: the model's labels are real categories and it uses them)
    labels = set(version.labels)
    assert len(labels) >= 2 and labels <= set(Category.objects.values_list("code", flat=True))
    prediction = active_model().model.predict("小区楼下烧烤店每天营业到凌晨，音响声音很大，严重影响居民休息")
    assert prediction.category in labels and 0 <= prediction.confidence <= 1

    before = _counts()
    assert "nothing to add" in _seed()
    assert _counts() == before
