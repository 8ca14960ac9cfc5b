"""Reads for duplicate suggestions: open requests that look like the same matter as a new one.

For a case, the candidates are the open requests (workflow.OPEN_STATES: not closed, answered,
not accepted or merged) the actor may see, in the same district, filed at most
settings.HOTLINE_SIMILAR_DAYS (default 30) days before it. The district and the date are
filtered in SQL, so only a few hundred texts are compared. Chinese is written without spaces,
so the texts (title and text, normalised like the classifier's: NFKC, lower case, digits as 0)
become character bigram TF-IDF vectors; the cosine of two vectors is their similarity. The
weights (IDF) are fitted on the whole city's requests of the same period (at most the newest
BACKGROUND), not on the candidates alone: when ten residents report one burst water main, the
candidates are mostly about it, and fitted on them alone its own words would count for little. Those at or above settings.HOTLINE_SIMILAR_THRESHOLD are returned,
most similar first, at most five (docs/decisions/0012-hotline-duplicates-and-hotspots.md).

`similar_for_cases` does a whole queue page at once: one query and one vectorisation per
district on the page.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from django.conf import settings
from sklearn.feature_extraction.text import TfidfVectorizer

from onecity.hotline import workflow
from onecity.hotline.access import cases_visible_to
from onecity.hotline.classifier.features import normalise
from onecity.hotline.models import Case

#: at most this many suggestions per case
LIMIT = 5
#: at most this many candidates per district (the newest); a district never files more than a
#: few hundred open requests a month
MAX_CANDIDATES = 2000
#: the IDF is fitted on at most this many of the city's newest requests of the period
BACKGROUND = 3000
CASE_RELATED = ("category", "district")


@dataclass(frozen=True)
class SimilarCase:
    case: Case
    score: float  # cosine similarity, 0..1

    @property
    def percent(self) -> int:
        return round(self.score * 100)


def similar_window() -> dt.timedelta:
    return dt.timedelta(days=settings.HOTLINE_SIMILAR_DAYS)


def similar_threshold() -> float:
    return settings.HOTLINE_SIMILAR_THRESHOLD


def case_text(case: Case) -> str:
    """What is compared: the title (the text's start, often the gist) and the text."""
    return normalise(f"{case.title} {case.text}")


def char_vectorizer() -> TfidfVectorizer:
    return TfidfVectorizer(analyzer="char", ngram_range=(2, 2), sublinear_tf=True)


def similar_open_cases(*, actor, case: Case, limit: int = LIMIT) -> list[SimilarCase]:
    """Open requests that may be the same matter as `case`, most similar first."""
    return similar_for_cases(actor=actor, cases=[case], limit=limit).get(case.pk, [])


def similar_for_cases(*, actor, cases, limit: int = LIMIT) -> dict[int, list[SimilarCase]]:
    """`similar_open_cases` for each of `cases` (case pk → suggestions; every case has a list)."""
    cases = list(cases)
    out: dict[int, list[SimilarCase]] = {case.pk: [] for case in cases}
    by_district: dict[int, list[Case]] = defaultdict(list)
    for case in cases:
        by_district[case.district_id].append(case)
    if not cases:
        return out
    window, threshold = similar_window(), similar_threshold()
    since = min(case.created_at for case in cases) - window
    # only word statistics are read from these (nothing of them is shown): every request counts
    background = Case.objects.filter(created_at__gte=since).order_by("-created_at", "-id")
    texts = [normalise(f"{title} {text}") for title, text in background.values_list("title", "text")[:BACKGROUND]]
    try:
        vectorizer = char_vectorizer().fit(texts + [case_text(case) for case in cases])
    except ValueError:  # no text at all
        return out
    for district_id, group in by_district.items():
        since = min(case.created_at for case in group) - window
        candidates = list(
            cases_visible_to(actor).filter(state__in=workflow.OPEN_STATES, district_id=district_id,
                                           created_at__gte=since)
            .select_related(*CASE_RELATED).order_by("-created_at", "-id")[:MAX_CANDIDATES])
        if not candidates:
            continue
        known = {c.pk for c in candidates}
        documents = candidates + [case for case in group if case.pk not in known]
        matrix = vectorizer.transform([case_text(c) for c in documents])
        index = {c.pk: i for i, c in enumerate(documents)}
        # rows are L2-normalised, so the dot product is the cosine
        scores = (matrix[[index[case.pk] for case in group]] @ matrix[:len(candidates)].T).toarray()
        for row, case in zip(scores, group, strict=True):
            found = [SimilarCase(candidate, float(min(score, 1.0)))
                     for candidate, score in zip(candidates, row, strict=True)
                     if candidate.pk != case.pk and score >= threshold
                     and candidate.created_at >= case.created_at - window]
            found.sort(key=lambda s: (-s.score, -s.case.created_at.timestamp(), s.case.pk))
            out[case.pk] = found[:limit]
    return out
