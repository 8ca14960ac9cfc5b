"""Reads of the public knowledge base (what residents see in the portal): active entries marked
`is_public`. Searching it is the operators' search (selectors/knowledge.py: jieba words, ranked by
how many of them an entry matches) restricted to public entries; this module adds browsing."""

from __future__ import annotations

from django.db.models import Count, QuerySet

from onecity.hotline.models import KnowledgeEntry


def knowledge_public() -> QuerySet[KnowledgeEntry]:
    return KnowledgeEntry.objects.filter(is_public=True, is_active=True)


def knowledge_browse_public(*, topic: str = "") -> QuerySet[KnowledgeEntry]:
    """Public entries (of `topic` when given), most used first."""
    entries = knowledge_public()
    if topic:
        entries = entries.filter(topic=topic)
    return entries.order_by("-use_count", "topic", "id")


def knowledge_topics_public() -> list[tuple[str, int]]:
    """(topic, number of public entries), most entries first."""
    rows = knowledge_public().values("topic").annotate(n=Count("id")).order_by("-n", "topic")
    return [(row["topic"], row["n"]) for row in rows]
