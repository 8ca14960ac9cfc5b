"""Knowledge base: search ranking on a small Chinese corpus, create/edit/deactivate with audit
rows, the management pages and their access rules, bad input changing nothing."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from onecity.core.errors import ApplicationError, PermissionDenied
from onecity.core.models import AuditEvent
from onecity.hotline.models import KnowledgeEntry
from onecity.hotline.selectors.knowledge import (
    knowledge_list,
    knowledge_search,
    min_score_for,
    search_terms,
    search_words,
)
from onecity.hotline.services.knowledge import (
    knowledge_entry_create,
    knowledge_entry_deactivate,
    knowledge_entry_reactivate,
    knowledge_entry_update,
)

pytestmark = pytest.mark.django_db


def entry(question, answer, *, keywords="", topic="社保", public=True, use_count=0, active=True) -> KnowledgeEntry:
    now = timezone.now()
    return KnowledgeEntry.objects.create(topic=topic, question=question, answer=answer, keywords=keywords,
                                         is_public=public, use_count=use_count, is_active=active,
                                         created_at=now, updated_at=now)


@pytest.fixture
def corpus(db):
    return {
        "card": entry("社保卡丢了怎么补办？", "携带身份证到任一社保卡服务网点办理挂失补办，或在e福州App线上申请。",
                      keywords="社保卡 挂失 补办"),
        "pension": entry("退休后养老金什么时候发放？", "养老金每月10日前发放到社保卡银行账户。",
                         keywords="养老金 退休", use_count=7),
        "summit": entry("数字中国建设峰会期间哪些道路交通管制？", "峰会期间海峡国际会展中心周边道路实行临时交通管制。",
                        keywords="峰会 交通管制", topic="数字中国峰会"),
        "bus": entry("公交卡余额怎么查询？", "可在e福州App“乘车码”页面或公交站自助机查询。", keywords="公交卡",
                     topic="公共交通"),
        "internal": entry("社保卡补办的内部流程", "窗口核验后在系统提交补卡单。", keywords="社保卡 补办", public=False,
                          topic="内部"),
        "old": entry("旧版社保卡补办指南", "已废止。", keywords="社保卡 补办", active=False),
    }


def test_terms_are_jieba_words_without_punctuation_or_lone_characters():
    assert search_words("社保卡丢了怎么补办？") == [["社保卡", "社保"], ["怎么"], ["补办"]]
    assert search_terms("峰会 交通管制") == ["峰会", "交通管制"]
    assert search_terms("  ？！。 ") == []
    assert search_terms("水") == ["水"]  # a one-character query is still searched


def test_ranking_counts_distinct_matched_words(corpus, settings):
    settings.HOTLINE_KB_MIN_RELATIVE_SCORE = 0  # every match, to see the ranking
    hits = knowledge_search("社保卡丢了怎么补办")
    # card: 社保卡 怎么 补办; internal: 社保卡 补办; bus: 怎么 (question); pension: 社保卡 (answer only)
    assert [(h.public_id, h.score) for h in hits] == [
        (corpus["card"].public_id, 3), (corpus["internal"].public_id, 2),
        (corpus["bus"].public_id, 1), (corpus["pension"].public_id, 1)]
    assert corpus["old"].public_id not in {h.public_id for h in hits}  # deactivated: never found


def test_a_strong_match_drops_the_weak_ones(corpus, settings):
    assert settings.HOTLINE_KB_MIN_RELATIVE_SCORE == 0.5
    card, internal = corpus["card"].public_id, corpus["internal"].public_id
    # the best entry matches 3 words: an entry needs 2 (half of 3, rounded up); the bus card's
    # (only 怎么) and the pension's (社保卡 in its answer) one-word matches are dropped
    assert [(h.public_id, h.score) for h in knowledge_search("社保卡丢了怎么补办", public_only=True)] == [(card, 3)]
    assert [(h.public_id, h.score) for h in knowledge_search("社保卡丢了怎么补办")] == [(card, 3), (internal, 2)]
    # when the best matches one word, every one-word match stays
    assert [h.public_id for h in knowledge_search("社保卡", public_only=True)] == [card, corpus["pension"].public_id]
    settings.HOTLINE_KB_MIN_RELATIVE_SCORE = 1  # the best score only
    assert [h.public_id for h in knowledge_search("社保卡丢了怎么补办")] == [card]
    assert knowledge_search("火星移民", public_only=True) == []


@pytest.mark.parametrize("best, fraction, floor", [
    (3, 0.5, 2), (4, 0.5, 2), (10, 0.7, 7), (5, 0.6, 3), (1, 0.9, 1), (4, 0, 1), (4, 1, 4), (4, 1.5, 4)])
def test_min_score_rounds_up_to_whole_words(best, fraction, floor):
    assert min_score_for(best, fraction) == floor


def test_residents_see_at_most_the_cap_operators_more(db, settings):
    entries = [entry(f"第{n}停车场收费标准是多少？", "按物价部门核定的标准收费。", keywords="停车", topic="交通",
                     use_count=n) for n in range(1, 13)]
    most_used_first = [e.public_id for e in reversed(entries)]
    assert settings.HOTLINE_KB_PUBLIC_MAX_RESULTS == 10
    assert [h.public_id for h in knowledge_search("停车", public_only=True)] == most_used_first[:10]
    assert [h.public_id for h in knowledge_search("停车")] == most_used_first  # operators: up to 20
    assert len(knowledge_search("停车", public_only=True, limit=3)) == 3
    settings.HOTLINE_KB_PUBLIC_MAX_RESULTS = 4
    assert [h.public_id for h in knowledge_search("停车", public_only=True)] == most_used_first[:4]


def test_answers_page_shows_the_strong_match_only(client, corpus):
    html = client.get("/hotline/answers/", {"q": "社保卡丢了怎么补办"}).content.decode()
    assert "社保卡丢了怎么补办？" in html
    assert "公交卡余额怎么查询？" not in html and "退休后养老金什么时候发放？" not in html
    assert "社保卡补办的内部流程" not in html  # not public


def test_exact_scores_and_tie_breaks(corpus):
    hits = knowledge_search("峰会 交通管制")
    assert [(h.public_id, h.score) for h in hits] == [(corpus["summit"].public_id, 2)]
    # an inner word counts for its word: "养老金" is one word, matched once
    hits = knowledge_search("养老金")
    assert [(h.public_id, h.score) for h in hits] == [(corpus["pension"].public_id, 1)]
    # equal scores: matched in the question/keywords before matched in the answer only
    hits = knowledge_search("社保卡")
    assert [h.public_id for h in hits] == [corpus["card"].public_id, corpus["internal"].public_id,
                                           corpus["pension"].public_id]
    # a word matched whole before one matched only through an inner word (公交卡 vs 公交)
    shuttle = entry("峰会期间去会展中心坐什么公交？", "可乘坐峰会接驳专线。", topic="数字中国峰会", use_count=9)
    assert [h.public_id for h in knowledge_search("公交卡")] == [corpus["bus"].public_id, shuttle.public_id]
    # then the most used first
    KnowledgeEntry.objects.filter(pk=corpus["internal"].pk).update(use_count=3)
    assert [h.public_id for h in knowledge_search("社保卡")][:2] == [corpus["internal"].public_id,
                                                                    corpus["card"].public_id]


def test_public_only_and_limit(corpus):
    hits = knowledge_search("社保卡补办", public_only=True)
    assert corpus["internal"].public_id not in {h.public_id for h in hits}
    assert hits[0].public_id == corpus["card"].public_id
    assert len(knowledge_search("社保卡", limit=1)) == 1
    assert knowledge_search("") == [] and knowledge_search("火星移民") == []


def test_management_list_filters_by_topic_and_words(corpus):
    assert [e.public_id for e in knowledge_list(topic="公共交通")] == [corpus["bus"].public_id]
    assert corpus["old"] not in knowledge_list(q="社保卡")
    assert corpus["old"] in knowledge_list(q="社保卡", include_inactive=True)


def test_create_update_deactivate_with_audit_rows(city):
    entry_ = knowledge_entry_create(actor=city.operator, topic=" 城市管理 ", question="井盖破损 找谁？",
                                    answer="请拨打12345或在e福州App上报，市政部门24小时内处理。",
                                    keywords="井盖，窨井、破损 井盖", category=city.roads, source_unit=city.unit,
                                    is_public=True)
    assert (entry_.topic, entry_.keywords, entry_.created_by_id) == ("城市管理", "井盖 窨井 破损", city.operator.pk)
    created = AuditEvent.objects.get(action="hotline.knowledge.create")
    assert (created.actor_id, created.object_id) == (city.operator.pk, entry_.public_id)

    knowledge_entry_update(actor=city.supervisor, entry_id=entry_.public_id, topic="城市管理",
                           question="井盖破损找谁？", answer=entry_.answer, keywords="井盖 窨井 破损",
                           category=city.roads, source_unit=city.unit, is_public=False)
    entry_.refresh_from_db()
    assert (entry_.question, entry_.is_public) == ("井盖破损找谁？", False)
    updated = AuditEvent.objects.get(action="hotline.knowledge.update")
    assert updated.detail == {"fields": ["question", "is_public"]}

    knowledge_entry_deactivate(actor=city.operator, entry_id=entry_.public_id)
    knowledge_entry_deactivate(actor=city.operator, entry_id=entry_.public_id)  # no second row
    entry_.refresh_from_db()
    assert entry_.is_active is False
    assert AuditEvent.objects.filter(action="hotline.knowledge.deactivate").count() == 1
    knowledge_entry_reactivate(actor=city.operator, entry_id=entry_.public_id)
    entry_.refresh_from_db()
    assert entry_.is_active is True
    assert AuditEvent.objects.filter(action="hotline.knowledge.reactivate").count() == 1


@pytest.mark.parametrize("field, values", [
    ("topic", {"topic": "   "}),
    ("question", {"question": ""}),
    ("answer", {"answer": "  "}),
    ("question", {"question": "问" * 201}),
    ("keywords", {"keywords": "词" * 201}),
])
def test_bad_input_changes_nothing(city, field, values):
    good = {"topic": "城市管理", "question": "井盖破损找谁？", "answer": "请拨打12345。"}
    with pytest.raises(ApplicationError) as raised:
        knowledge_entry_create(actor=city.operator, **{**good, **values})
    assert raised.value.field == field
    assert KnowledgeEntry.objects.count() == 0 and AuditEvent.objects.filter(action__startswith="hotline.").count() == 0


def test_other_roles_cannot_write(city):
    for actor in (city.handler, city.dispatcher, city.resident):
        with pytest.raises(PermissionDenied):
            knowledge_entry_create(actor=actor, topic="t", question="q", answer="a")
    assert KnowledgeEntry.objects.count() == 0


# --- pages ---------------------------------------------------------------------------------------
def test_pages_refuse_handlers_and_residents(city, client, corpus):
    pid = corpus["card"].public_id
    for user in (city.handler, city.resident):
        client.force_login(user)
        assert client.get(reverse("hotline:knowledge")).status_code == 403
        assert client.post(reverse("hotline:knowledge_create"), {"topic": "t", "question": "q",
                                                                 "answer": "a"}).status_code == 403
        assert client.post(reverse("hotline:knowledge_deactivate", args=[pid])).status_code == 403
    client.logout()
    assert client.get(reverse("hotline:knowledge")).status_code == 302
    assert KnowledgeEntry.objects.count() == 6
    assert KnowledgeEntry.objects.get(pk=corpus["card"].pk).is_active is True


def test_list_create_edit_deactivate_through_pages(city, client, corpus):
    client.force_login(city.operator)
    page = client.get(reverse("hotline:knowledge"), {"q": "社保卡"})
    assert page.status_code == 200
    body = page.content.decode()
    assert "社保卡丢了怎么补办？" in body and "旧版社保卡补办指南" not in body and "公交卡余额怎么查询？" not in body

    response = client.post(reverse("hotline:knowledge_create"), {
        "topic": "城市管理", "question": "路灯不亮找谁？", "answer": "市政部门负责路灯维修。", "keywords": "路灯",
        "category": city.roads.pk, "source_unit": city.unit.pk, "is_public": "on"})
    assert response.status_code == 302
    created = KnowledgeEntry.objects.get(question="路灯不亮找谁？")
    assert (created.category_id, created.source_unit_id, created.is_public) == (city.roads.pk, city.unit.pk, True)

    response = client.post(reverse("hotline:knowledge_edit", args=[created.public_id]), {
        "topic": "城市管理", "question": "路灯不亮找谁？", "answer": "市政部门负责路灯维修，24小时内处理。",
        "keywords": "路灯 照明"})
    assert response.status_code == 302
    created.refresh_from_db()
    assert (created.answer, created.keywords, created.is_public, created.category_id) == (
        "市政部门负责路灯维修，24小时内处理。", "路灯 照明", False, None)

    response = client.post(reverse("hotline:knowledge_deactivate", args=[created.public_id]), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert reverse("hotline:knowledge_reactivate", args=[created.public_id]) in response.content.decode()
    created.refresh_from_db()
    assert created.is_active is False
    assert list(AuditEvent.objects.filter(object_id=created.public_id).order_by("id")
                .values_list("action", flat=True)) == ["hotline.knowledge.create", "hotline.knowledge.update",
                                                       "hotline.knowledge.deactivate"]


def test_bad_form_input_changes_nothing(city, client, corpus):
    client.force_login(city.operator)
    before = list(KnowledgeEntry.objects.order_by("id").values())
    response = client.post(reverse("hotline:knowledge_create"), {"topic": "", "question": "", "answer": ""})
    assert response.status_code == 422
    response = client.post(reverse("hotline:knowledge_edit", args=[corpus["card"].public_id]),
                           {"topic": "社保", "question": "", "answer": "x", "category": "999999"})
    assert response.status_code == 422
    assert client.post(reverse("hotline:knowledge_deactivate", args=["NOPE"])).status_code == 404
    assert list(KnowledgeEntry.objects.order_by("id").values()) == before
    assert AuditEvent.objects.filter(action__startswith="hotline.knowledge").count() == 0



@pytest.mark.django_db
def test_keywords_are_taught_to_the_knowledge_tokenizer_only():
    """The knowledge base's keywords change how search cuts a query, never how the rest of the
    process cuts text with jieba's shared dictionary (the classifier's baseline relies on it)."""
    import jieba

    entry("公交卡丢了怎么办？", "到任一公交营业网点挂失补办。", keywords="榕城通卡 公交卡")
    assert jieba.lcut("我的榕城通卡丢了") == ["我", "的", "榕城", "通卡", "丢", "了"]
    assert search_terms("我的榕城通卡丢了") == ["榕城通卡"]
    assert jieba.lcut("我的榕城通卡丢了") == ["我", "的", "榕城", "通卡", "丢", "了"]
