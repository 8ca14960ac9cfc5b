"""Reads of the knowledge base: search while on the phone, the management list by topic.

How search works
----------------
Chinese is written without spaces, so "社保卡丢了怎么补办" is one "word" to a plain splitter.
The query is cut into words with jieba (precise mode: 社保卡 / 丢 / 了 / 怎么 / 补办).
Punctuation and white space are dropped, and so are single characters when the query has
longer words (a lone 的 or 了 would match almost every entry). Each word of three or more
characters also brings the shorter dictionary words inside it (jieba's search mode:
数字中国峰会 → 数字, 中国, 峰会), so "养老金" still finds an entry that only says "养老".
A word matches an entry when the word or one of its inner words occurs (case-insensitive
`icontains`) in the question, the keywords or the answer.

An entry's score is the number of distinct query words it matches in any of the three fields;
ties are broken by how many words matched whole (not only through an inner word: "公交卡"
before "公交"), then by how many matched in the question or keywords (what the entry is about,
not what its answer mentions), then by how often operators used the entry, then by age.

Relevance cut: an entry is returned only when its score is at least
`settings.HOTLINE_KB_MIN_RELATIVE_SCORE` (default 0.5) of the best entry's score, so a query
with a strong match ("社保卡丢了怎么补办": 3 words) drops the entries that share only one word
with it (an entry about 公交卡 that also says 怎么); a query whose best entries match one word
keeps every one-word match. The cut is the same for residents and operators; residents see at
most `settings.HOTLINE_KB_PUBLIC_MAX_RESULTS` (default 10) entries, operators up to `limit`
(20 on the phone console). Decision 0021 says why.
Scores are computed by the database (one CASE WHEN per word, summed), so one query returns the
top `limit` rows. Without a full-text index this is a scan of the active entries (LIKE cannot
use an index for Chinese substrings): measured at 50-90 ms per search over 3,000 entries on
SQLite on one core, which is the size of a city hotline's knowledge base. Beyond tens of
thousands of entries, move to PostgreSQL trigram indexes or a search engine.

jieba's general dictionary does not know every local term (公交卡 comes out as 公交 / 卡), so
the keywords of the knowledge-base entries are added to the knowledge base's own tokenizer
(hotline/wordcut.py; never to the process-wide dictionary that other code cuts with): the
knowledge base's own vocabulary stays whole. They are reloaded when the entries change (one cheap aggregate query per search
notices it, in every process).

jieba loads its dictionary (a few MB) on first use; it is imported lazily so that processes
that never search do not pay for it.
"""

from __future__ import annotations

import math
import threading
import unicodedata
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Case, Count, IntegerField, Max, Q, QuerySet, Value, When
from django.db.models.functions import Coalesce

from onecity.hotline.models import KnowledgeEntry
from onecity.hotline.wordcut import tokenizer

MAX_TERMS = 12
QUERY_MAX = 200
#: entries an operator's search shows at most (the phone console's list)
OPERATOR_LIMIT = 20

_vocabulary_lock = threading.Lock()
_vocabulary_stamp: tuple | None = None
_vocabulary: set[str] = set()


def _tokenizer():
    return tokenizer("knowledge")


def _vocabulary_sync(cut) -> None:
    """Teach the knowledge base's tokenizer its keywords (again, when entries changed)."""
    global _vocabulary_stamp
    stamp = tuple(KnowledgeEntry.objects.aggregate(n=Count("id"), at=Max("updated_at")).values())
    if stamp == _vocabulary_stamp:
        return
    with _vocabulary_lock:
        for keywords in KnowledgeEntry.objects.filter(is_active=True).exclude(keywords="") \
                .values_list("keywords", flat=True).iterator():
            for word in keywords.split():
                if len(word) > 1 and word not in _vocabulary:
                    cut.add_word(word)
                    _vocabulary.add(word)
        _vocabulary_stamp = stamp


def _is_word(token: str) -> bool:
    """A token with at least one letter or digit (not punctuation, symbols or space)."""
    return any(unicodedata.category(ch)[0] in "LN" for ch in token)


def search_words(query: str) -> list[list[str]]:
    """The words of `query` that search matches, each with the inner words that also count for
    it (the word first), in order of first appearance, without repeats."""
    query = " ".join((query or "").split())[:QUERY_MAX]
    if not query:
        return []
    cut = _tokenizer()
    _vocabulary_sync(cut)
    words = [t.strip() for t in cut.lcut(query)]
    words = [t for t in words if t and _is_word(t)]
    if any(len(t) > 1 for t in words):
        words = [t for t in words if len(t) > 1]
    groups: list[list[str]] = []
    seen: set[str] = set()
    for word in words:
        if word.casefold() in seen:
            continue
        seen.add(word.casefold())
        inner = [t for t in cut.lcut_for_search(word) if t != word and len(t) > 1] if len(word) > 2 else []
        groups.append([word, *dict.fromkeys(inner)])
    return groups[:MAX_TERMS]


def search_terms(query: str) -> list[str]:
    """The words of `query` that search matches (without their inner words)."""
    return [group[0] for group in search_words(query)]


@dataclass(frozen=True)
class KnowledgeHit:
    public_id: str
    topic: str
    question: str
    answer: str
    keywords: str
    is_public: bool
    use_count: int
    score: int  # distinct query words found


def _one_if(condition: Q) -> Case:
    return Case(When(condition, then=Value(1)), default=Value(0), output_field=IntegerField())


def min_score_for(best: int, fraction: float) -> int:
    """The lowest score kept when the best entry scores `best`: `fraction` of it, rounded up (a
    score is a whole number of words), never below one word."""
    fraction = min(max(float(fraction), 0.0), 1.0)
    return max(1, math.ceil(round(best * fraction, 9)))


def knowledge_search(q: str, *, public_only: bool = False, topic: str = "", limit: int | None = None
                     ) -> list[KnowledgeHit]:
    """Active entries matching the words of `q`, best first, cut to those scoring at least
    HOTLINE_KB_MIN_RELATIVE_SCORE of the best (see the module docstring); `public_only` for
    residents, `topic` to stay within one topic. At most `limit` entries (by default
    HOTLINE_KB_PUBLIC_MAX_RESULTS for residents, 20 for operators; never more than 100). An empty
    query or one without words finds nothing."""
    if limit is None:
        limit = settings.HOTLINE_KB_PUBLIC_MAX_RESULTS if public_only else OPERATOR_LIMIT
    groups = search_words(q)
    if not groups:
        return []
    entries = KnowledgeEntry.objects.filter(is_active=True)
    if public_only:
        entries = entries.filter(is_public=True)
    if topic:
        entries = entries.filter(topic=topic)
    any_match = Q()
    score = Value(0, output_field=IntegerField())
    about = Value(0, output_field=IntegerField())
    whole = Value(0, output_field=IntegerField())
    for group in groups:
        in_about, in_any = Q(), Q()
        for term in group:
            in_about |= Q(question__icontains=term) | Q(keywords__icontains=term)
            in_any |= Q(question__icontains=term) | Q(keywords__icontains=term) | Q(answer__icontains=term)
        any_match |= in_any
        score = score + _one_if(in_any)
        about = about + _one_if(in_about)
        word = group[0]
        whole = whole + _one_if(Q(question__icontains=word) | Q(keywords__icontains=word) | Q(answer__icontains=word))
    rows = (entries.filter(any_match)
            .annotate(score=Coalesce(score, 0), whole=Coalesce(whole, 0), about=Coalesce(about, 0))
            .order_by("-score", "-whole", "-about", "-use_count", "id")
            .values("public_id", "topic", "question", "answer", "keywords", "is_public", "use_count", "score")
            [:max(1, min(limit, 100))])
    hits = [KnowledgeHit(**row) for row in rows]
    if not hits:
        return []
    floor = min_score_for(hits[0].score, settings.HOTLINE_KB_MIN_RELATIVE_SCORE)
    return [hit for hit in hits if hit.score >= floor]


def knowledge_list(*, topic: str = "", q: str = "", include_inactive: bool = False) -> QuerySet[KnowledgeEntry]:
    """Entries for the management page, by topic then most used; `q` narrows them to those
    containing every word of it (in the question, keywords or answer)."""
    entries = KnowledgeEntry.objects.select_related("category", "source_unit")
    if not include_inactive:
        entries = entries.filter(is_active=True)
    if topic:
        entries = entries.filter(topic=topic)
    for group in search_words(q):
        match = Q()
        for term in group:
            match |= Q(question__icontains=term) | Q(keywords__icontains=term) | Q(answer__icontains=term)
        entries = entries.filter(match)
    return entries.order_by("topic", "-is_active", "-use_count", "id")


def knowledge_topics() -> list[str]:
    """Topics in use, alphabetically (the topic filter and the form's suggestions)."""
    return list(KnowledgeEntry.objects.order_by("topic").values_list("topic", flat=True).distinct())


def knowledge_get(public_id: str, *, active_only: bool = False) -> KnowledgeEntry | None:
    entries = KnowledgeEntry.objects.select_related("category", "source_unit")
    if active_only:
        entries = entries.filter(is_active=True)
    return entries.filter(public_id=str(public_id or "")).first()
