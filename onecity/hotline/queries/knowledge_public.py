"""Reads of the public knowledge base (what residents see in the portal): active entries marked
`is_public`. Search is deliberately simple: every word of the query must appear (icontains) in
the question, the answer or the keywords; the operator-side search may do better."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from onecity.hotline.models import KnowledgeEntry

QUERY_MAX = 100
WORDS_MAX = 8


def knowledge_public() -> QuerySet[KnowledgeEntry]:
    return KnowledgeEntry.objects.filter(is_public=True, is_active=True)


def knowledge_search_public(q: str, *, topic: str = "") -> QuerySet[KnowledgeEntry]:
    """Public entries matching every word of `q` (and `topic` when given), most used first."""
    entries = knowledge_public()
    if topic:
        entries = entries.filter(topic=topic)
    for word in (q or "")[:QUERY_MAX].split()[:WORDS_MAX]:
        entries = entries.filter(Q(question__icontains=word) | Q(answer__icontains=word)
                                 | Q(keywords__icontains=word))
    return entries.order_by("-use_count", "topic", "id")


def knowledge_topics_public() -> list[tuple[str, int]]:
    """(topic, number of public entries), most entries first."""
    rows = knowledge_public().values("topic").annotate(n=Count("id")).order_by("-n", "topic")
    return [(row["topic"], row["n"]) for row in rows]
