"""Writes to the knowledge base, and answering a request directly from one of its entries.

Operators, supervisors and administrators keep the entries (create, edit, deactivate — entries
are never deleted: answered requests point at them). Each write leaves an audit row
(`hotline.knowledge.create|update|deactivate|reactivate`).

Answering from the knowledge base closes a request as 直接答复办结 through the workflow's
`case_answer`, records the entry used on the answer event (`data["knowledge_entry"]`) and counts
the use with an F() increment, so concurrent answers never lose a count.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from onecity.core.audit import audit_record
from onecity.core.errors import ApplicationError, NotFound, PermissionDenied
from onecity.hotline.enums import Action
from onecity.hotline.models import Case, CaseEvent, Category, KnowledgeEntry
from onecity.hotline.services.cases import case_answer
from onecity.hotline.services.intake import case_register
from onecity.identity.access import has_role

#: who keeps the knowledge base
KNOWLEDGE_ROLES = ("hotline_operator", "supervisor", "administrator")
TOPIC_MAX = 60
QUESTION_MAX = 200
ANSWER_MAX = 2000  # the longest answer case_answer records
KEYWORDS_MAX = 200
_KEYWORD_SEPARATORS = ",，、;；/|"
#: the fields an edit may change, in the order the audit row lists them
FIELDS = ("topic", "question", "answer", "keywords", "category", "source_unit", "is_public")


def _check(actor) -> None:
    if not has_role(actor, *KNOWLEDGE_ROLES):
        raise PermissionDenied(_("Only hotline operators, supervisors and administrators keep the knowledge base."))


def _line(value, *, field: str, max_length: int, message: str) -> str:
    value = " ".join((value or "").split())
    if not value:
        raise ApplicationError(message, code=f"{field}_required", field=field)
    if len(value) > max_length:
        raise ApplicationError(_("This can have at most %(max)d characters.") % {"max": max_length},
                               code=f"{field}_length", field=field)
    return value


def _keywords(value: str) -> str:
    """Keywords separated by spaces, commas or 、, stored space-separated without repeats."""
    text = value or ""
    for sep in _KEYWORD_SEPARATORS:
        text = text.replace(sep, " ")
    words: list[str] = []
    for word in text.split():
        if word not in words:
            words.append(word)
    joined = " ".join(words)
    if len(joined) > KEYWORDS_MAX:
        raise ApplicationError(_("This can have at most %(max)d characters.") % {"max": KEYWORDS_MAX},
                               code="keywords_length", field="keywords")
    return joined


def _clean(*, topic, question, answer, keywords, category, source_unit, is_public) -> dict:
    answer = (answer or "").strip()
    if not answer:
        raise ApplicationError(_("Please write the answer operators read out."), code="answer_required",
                               field="answer")
    if len(answer) > ANSWER_MAX:
        raise ApplicationError(_("This can have at most %(max)d characters.") % {"max": ANSWER_MAX},
                               code="answer_length", field="answer")
    if category is not None and (not isinstance(category, Category) or category.pk is None
                                 or not category.is_active):
        raise ApplicationError(_("Please choose an active category."), code="category_invalid", field="category")
    if source_unit is not None and (getattr(source_unit, "pk", None) is None or not source_unit.is_active):
        raise ApplicationError(_("Please choose an active unit."), code="source_unit_invalid", field="source_unit")
    return {
        "topic": _line(topic, field="topic", max_length=TOPIC_MAX, message=_("Please give the topic.")),
        "question": _line(question, field="question", max_length=QUESTION_MAX,
                          message=_("Please write the question as callers ask it.")),
        "answer": answer,
        "keywords": _keywords(keywords),
        "category": category,
        "source_unit": source_unit,
        "is_public": bool(is_public),
    }


def _entry_for_update(entry_id: str) -> KnowledgeEntry:
    entry = KnowledgeEntry.objects.select_for_update().filter(public_id=str(entry_id or "")).first()
    if entry is None:
        raise NotFound()
    return entry


@transaction.atomic
def knowledge_entry_create(*, actor, topic: str, question: str, answer: str, keywords: str = "",
                           category: Category | None = None, source_unit=None, is_public: bool = True,
                           ip: str | None = None) -> KnowledgeEntry:
    _check(actor)
    values = _clean(topic=topic, question=question, answer=answer, keywords=keywords, category=category,
                    source_unit=source_unit, is_public=is_public)
    now = timezone.now()
    entry = KnowledgeEntry.objects.create(**values, created_by=actor, created_at=now, updated_at=now)
    audit_record(actor=actor, action="hotline.knowledge.create", object_type="knowledge_entry",
                 object_id=entry.public_id, ip=ip, detail={"topic": entry.topic})
    return entry


@transaction.atomic
def knowledge_entry_update(*, actor, entry_id: str, topic: str, question: str, answer: str, keywords: str = "",
                           category: Category | None = None, source_unit=None, is_public: bool = True,
                           ip: str | None = None) -> KnowledgeEntry:
    """Replace the entry's content; the audit row names the fields that changed."""
    _check(actor)
    entry = _entry_for_update(entry_id)
    values = _clean(topic=topic, question=question, answer=answer, keywords=keywords, category=category,
                    source_unit=source_unit, is_public=is_public)
    changed = [name for name in FIELDS if getattr(entry, name) != values[name]]
    if not changed:
        return entry
    for name in changed:
        setattr(entry, name, values[name])
    entry.updated_at = timezone.now()
    entry.save(update_fields=[*changed, "updated_at"])
    audit_record(actor=actor, action="hotline.knowledge.update", object_type="knowledge_entry",
                 object_id=entry.public_id, ip=ip, detail={"fields": changed})
    return entry


def _set_active(*, actor, entry_id: str, active: bool, ip: str | None) -> KnowledgeEntry:
    _check(actor)
    entry = _entry_for_update(entry_id)
    if entry.is_active == active:
        return entry
    entry.is_active = active
    entry.updated_at = timezone.now()
    entry.save(update_fields=["is_active", "updated_at"])
    audit_record(actor=actor, action="hotline.knowledge." + ("reactivate" if active else "deactivate"),
                 object_type="knowledge_entry", object_id=entry.public_id, ip=ip)
    return entry


@transaction.atomic
def knowledge_entry_deactivate(*, actor, entry_id: str, ip: str | None = None) -> KnowledgeEntry:
    """Take an entry out of search and out of the portal (it stays on the requests it answered)."""
    return _set_active(actor=actor, entry_id=entry_id, active=False, ip=ip)


@transaction.atomic
def knowledge_entry_reactivate(*, actor, entry_id: str, ip: str | None = None) -> KnowledgeEntry:
    return _set_active(actor=actor, entry_id=entry_id, active=True, ip=ip)


def _active_entry(entry_id: str) -> KnowledgeEntry:
    entry = KnowledgeEntry.objects.filter(public_id=str(entry_id or ""), is_active=True).first()
    if entry is None:
        raise ApplicationError(_("This knowledge-base entry is no longer available. Please search again."),
                               code="knowledge_entry_invalid", field="entry")
    return entry


@transaction.atomic
def case_answer_from_knowledge(*, actor, case_id: str, entry_id: str, answer: str = "") -> Case:
    """Close a registered or accepted request as answered directly with a knowledge-base entry;
    `answer` (the words actually given) defaults to the entry's answer."""
    entry = _active_entry(entry_id)
    case = case_answer(actor=actor, case_id=case_id, answer=(answer or "").strip() or entry.answer)
    event = CaseEvent.objects.filter(case=case, action=Action.ANSWER).order_by("-at", "-id").first()
    event.data = {**event.data, "knowledge_entry": entry.public_id}
    event.save(update_fields=["data"])
    KnowledgeEntry.objects.filter(pk=entry.pk).update(use_count=F("use_count") + 1)
    return case


@transaction.atomic
def case_register_answered(*, actor, entry_id: str, answer: str = "", **intake) -> Case:
    """The operator console's "answer directly": register the caller's request (`intake` are
    `case_register`'s arguments) and close it at once from a knowledge-base entry. All or nothing."""
    _active_entry(entry_id)
    case = case_register(actor=actor, **intake)
    return case_answer_from_knowledge(actor=actor, case_id=case.public_id, entry_id=entry_id, answer=answer)
