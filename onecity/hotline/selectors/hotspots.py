"""Reads for the hot-spot page: which matters are rising, where.

The requests of a recent window (24 hours, 7 days or 30 days up to now) are grouped by district,
and within a district clustered by text: each request becomes a TF-IDF vector of its jieba words
(stop words removed) joined with one of its character bigrams (so words jieba splits unusually —
place names, compound names — still match), each half L2-normalised and weighted 1/√2, so the
cosine of two requests is the mean of their word and bigram cosines. Requests whose cosine is at
least CLUSTER_THRESHOLD are linked, and the connected components of that graph are the clusters
(single link: deterministic, no seed, no number of clusters to choose). A cluster of at least
MIN_REQUESTS requests is a hot spot.

For each hot spot the page shows the count now; the count before — requests of the previous
window of equal length, in the same district, linked (the same threshold) to one of the
cluster's requests; the growth; the top keywords (the words with the highest summed TF-IDF
weight in the cluster); the district; the most common category; and the newest requests.
A heat map counts the window's requests per district and top-level category.

Nothing is stored: the report is computed on the fly and kept in Django's cache for
CACHE_SECONDS, keyed by the window and the five-minute slot it ends at (docs/decisions/0012). The
cached report holds ids and codes only; names are looked up in the reader's language when shown.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from django.core.cache import cache
from django.utils import timezone
from scipy.sparse.csgraph import connected_components
from sklearn.feature_extraction.text import TfidfVectorizer

from onecity.hotline.classifier.features import normalise
from onecity.hotline.models import Case, Category
from onecity.hotline.wordcut import tokenizer

#: the windows a leader may pick, and the default
WINDOWS = {"24h": dt.timedelta(hours=24), "7d": dt.timedelta(days=7), "30d": dt.timedelta(days=30)}
DEFAULT_WINDOW = "7d"
#: two requests whose combined cosine reaches this are about the same matter
CLUSTER_THRESHOLD = 0.2
#: how far back the requests the TF-IDF weights are fitted on go (twice the longest window)
BACKGROUND = dt.timedelta(days=60)
#: a cluster this large is a hot spot
MIN_REQUESTS = 3
KEYWORDS = 5
EXAMPLES = 3
CACHE_SECONDS = 300
CACHE_VERSION = 1

#: words that say nothing about the matter: function words, and how every request is phrased
STOP_WORDS = frozenset((
    "的", "了", "和", "是", "在", "有", "也", "都", "就", "还", "又", "与", "及", "或", "而", "但", "被", "把", "给", "让", "对", "从",
    "向", "到", "为", "于", "以", "之", "其", "这", "那", "这个", "那个", "这些", "那些", "我", "我们", "你", "你们", "他", "他们", "她", "它",
    "自己", "大家", "本人", "家里", "一个", "一些", "一直", "一下", "一样", "已经", "现在", "目前", "今天", "昨天", "每天", "最近", "没有", "不是",
    "不能", "不会", "可以", "能够", "需要", "应该", "可能", "什么", "怎么", "如何", "为什么", "多少", "哪里", "这样", "那样", "如果", "因为", "所以",
    "但是", "而且", "并且", "然后", "以后", "之后", "之前", "以来", "时候", "问题", "情况", "事情", "相关", "有关", "有关部门", "相关部门", "部门", "政府",
    "市民", "居民", "来电", "来电人", "反映", "反应", "投诉", "举报", "咨询", "请求", "要求", "希望", "请", "帮忙", "帮助", "处理", "解决", "尽快",
    "及时", "麻烦", "谢谢", "感谢", "非常", "特别", "严重", "很多", "几个", "好几", "多次", "多个", "还是", "只是", "就是", "真的", "根本", "实在",
    "一点", "很", "太", "更", "最", "再", "才", "却", "等", "等等", "个", "次", "天", "年", "月", "日", "号", "里", "说", "讲", "问", "看",
    "去", "来", "做", "搞", "弄", "让", "叫", "想", "要", "会", "能", "得", "着", "过", "吗", "呢", "吧", "啊", "呀", "哦", "嘛", "啦",
    "么", "请问", "哪个", "好几个", "电话", "打电话", "找",
))
#: words of 12345 requests jieba's general dictionary splits (在建工地 → 在 / 建工 / 地)
TERMS = ("在建工地", "夜间施工", "施工噪音", "停水", "停电", "供水", "爆管", "电梯", "路面塌陷", "占道经营", "物业费",
         "噪音扰民", "油烟", "违章搭建", "违停", "拖欠工资", "农民工")
_NOT_A_WORD = re.compile(r"^[\d\W_]+$")
_DISTRICT_NAME = re.compile(r"^\w{2,3}[区县市]$")


# --- report --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Example:
    public_id: str
    tracking_number: str
    title: str
    created_at: dt.datetime


@dataclass(frozen=True)
class Hotspot:
    key: str  # the district id and the cluster's oldest request's public id: stable while it lives
    district_id: int
    category_code: str  # the cluster's most common category; "" when none of its requests has one
    count: int
    before: int
    keywords: tuple[str, ...]
    examples: tuple[Example, ...]

    @property
    def change(self) -> int:
        return self.count - self.before

    @property
    def growth(self) -> float | None:
        """Relative growth against the previous window; None when there was nothing before."""
        return None if self.before == 0 else self.change / self.before

    @property
    def growth_percent(self) -> int | None:
        growth = self.growth
        return None if growth is None else round(growth * 100)

    @property
    def rising(self) -> bool:
        return self.count > self.before


@dataclass(frozen=True)
class HotspotReport:
    window: str
    start: dt.datetime
    end: dt.datetime
    previous_start: dt.datetime
    total: int
    total_before: int
    hotspots: tuple[Hotspot, ...]  # rising first (largest change), then the steady and falling ones
    heat: tuple[tuple[int, str, int], ...]  # (district id, top-level category code or "", requests)

    @property
    def rising(self) -> tuple[Hotspot, ...]:
        return tuple(h for h in self.hotspots if h.rising)


def window_or_default(name: str | None) -> str:
    return name if name in WINDOWS else DEFAULT_WINDOW


def hotspot_report(*, window: str = DEFAULT_WINDOW, now: dt.datetime | None = None) -> HotspotReport:
    """The hot spots of `window` (a key of WINDOWS) ending at the start of the current
    CACHE_SECONDS slot (at most five minutes ago): computed once per window and slot, then read
    from the cache by every visitor of that slot."""
    window = window_or_default(window)
    now = now or timezone.now()
    end = now - dt.timedelta(seconds=now.timestamp() % CACHE_SECONDS)
    key = f"hotline:hotspots:v{CACHE_VERSION}:{window}:{int(end.timestamp())}"
    report = cache.get(key)
    if report is None:
        report = hotspot_compute(window=window, end=end)
        cache.set(key, report, CACHE_SECONDS)
    return report


def hotspot_compute(*, window: str, end: dt.datetime) -> HotspotReport:
    """The report of `window` ending at `end`, computed now (no cache).

    The TF-IDF weights are fitted on the whole city's requests of BACKGROUND before `end`
    whatever the window, so that a burst in a short window does not make its own words common
    (and similarities of two requests do not depend on the window chosen)."""
    span = WINDOWS[window]
    start, previous_start = end - span, end - 2 * span
    rows = list(Case.objects.filter(created_at__gte=min(previous_start, end - BACKGROUND), created_at__lte=end)
                .values("id", "public_id", "tracking_number", "title", "text", "district_id", "created_at",
                        "category__code", "category__parent__code")
                .order_by("created_at", "id"))
    vectors = _vectors([normalise(f"{r['title']} {r['text']}") for r in rows])
    by_district: dict[int, list[int]] = defaultdict(list)
    for index, row in enumerate(rows):
        if row["created_at"] >= previous_start:
            by_district[row["district_id"]].append(index)
    hotspots: list[Hotspot] = []
    for district_id in sorted(by_district) if vectors is not None else []:
        hotspots += _district_hotspots(district_id, rows, by_district[district_id], start, vectors)
    hotspots.sort(key=lambda h: (not h.rising, -h.change, -h.count, h.key))
    current = [r for r in rows if r["created_at"] >= start]
    heat = Counter((r["district_id"], r["category__parent__code"] or r["category__code"] or "") for r in current)
    total_before = sum(1 for r in rows if previous_start <= r["created_at"] < start)
    return HotspotReport(window=window, start=start, end=end, previous_start=previous_start, total=len(current),
                         total_before=total_before, hotspots=tuple(hotspots),
                         heat=tuple(sorted((d, c, n) for (d, c), n in heat.items())))


def _district_hotspots(district_id: int, rows: list[dict], indexes: list[int], start: dt.datetime,
                       vectors) -> list[Hotspot]:
    """The hot spots among rows[i] for i in `indexes` (one district's requests of both windows)."""
    now_rows = [i for i in indexes if rows[i]["created_at"] >= start]
    if len(now_rows) < MIN_REQUESTS:
        return []
    before_rows = [i for i in indexes if rows[i]["created_at"] < start]
    words, vocabulary, vectors = vectors
    current = vectors[now_rows]
    similarity = (current @ current.T).tocsr()
    similarity.data = (similarity.data >= CLUSTER_THRESHOLD - 1e-9).astype(np.int8)
    similarity.eliminate_zeros()
    n_clusters, labels = connected_components(similarity, directed=False)
    members: dict[int, list[int]] = defaultdict(list)
    for position, label in enumerate(labels):
        members[label].append(now_rows[position])
    earlier = vectors[before_rows] if before_rows else None
    out = []
    for label in range(n_clusters):
        group = members[label]
        if len(group) < MIN_REQUESTS:
            continue
        before = 0
        if earlier is not None:
            linked = (earlier @ vectors[group].T).toarray().max(axis=1) >= CLUSTER_THRESHOLD - 1e-9
            before = int(linked.sum())
        out.append(_hotspot(district_id, [rows[i] for i in group], before, _keywords(words[group], vocabulary)))
    return out


def _hotspot(district_id: int, group: list[dict], before: int, keywords: tuple[str, ...]) -> Hotspot:
    categories = Counter(r["category__code"] for r in group if r["category__code"])
    category = min(categories, key=lambda code: (-categories[code], code)) if categories else ""
    newest = sorted(group, key=lambda r: (r["created_at"], r["id"]), reverse=True)[:EXAMPLES]
    return Hotspot(
        key=f"{district_id}-{group[0]['public_id']}", district_id=district_id, category_code=category,
        count=len(group), before=before, keywords=keywords,
        examples=tuple(Example(r["public_id"], r["tracking_number"], r["title"], r["created_at"]) for r in newest))


# --- text ----------------------------------------------------------------------------------------
def _keywords(weights, vocabulary) -> tuple[str, ...]:
    """The words of the highest summed weight in `weights` (a cluster's rows; ties: alphabetical),
    leaving out district names (鼓楼区, 闽侯县: the page shows the district already)."""
    totals = np.asarray(weights.sum(axis=0)).ravel()
    order = sorted((i for i in np.flatnonzero(totals) if not _DISTRICT_NAME.match(vocabulary[i])),
                   key=lambda i: (-round(float(totals[i]), 9), vocabulary[i]))
    return tuple(str(vocabulary[i]) for i in order[:KEYWORDS])


def _vectors(texts: list[str]):
    """(word TF-IDF, its vocabulary, combined vectors) of `texts`; None when no text has a bigram."""
    segmented = [" ".join(w for w in _cut(t) if _is_word(w)) for t in texts]
    try:
        word_vectorizer = TfidfVectorizer(analyzer=str.split, sublinear_tf=True)
        words = word_vectorizer.fit_transform(segmented)
    except ValueError:  # no word at all
        words = sp.csr_matrix((len(texts), 0))
        vocabulary = np.array([], dtype=object)
    else:
        vocabulary = word_vectorizer.get_feature_names_out()
    try:
        bigrams = TfidfVectorizer(analyzer="char", ngram_range=(2, 2), sublinear_tf=True).fit_transform(texts)
    except ValueError:
        return None
    combined = sp.hstack([words, bigrams]).tocsr() / math.sqrt(2)
    return words.tocsr(), vocabulary, combined


def _is_word(word: str) -> bool:
    return len(word) >= 2 and word not in STOP_WORDS and not _NOT_A_WORD.match(word)


def _cut(text: str) -> list[str]:
    return tokenizer("hotspots", words=TERMS).lcut(text)


# --- presentation --------------------------------------------------------------------------------
def category_names(codes) -> dict[str, str]:
    """Category code → name in the current language."""
    return {c.code: c.display_name() for c in Category.objects.filter(code__in=[c for c in codes if c])}


def hotspot_label(hotspot: Hotspot, district_names: dict[int, str]) -> str:
    """A short name for a chart axis: the district and the first two keywords."""
    words = "".join(f" {w}" for w in hotspot.keywords[:2])
    return f"{district_names.get(hotspot.district_id, '')}{words}".strip()


def rising_chart(report: HotspotReport, *, district_names: dict[int, str], now_label: str,
                 before_label: str, limit: int = 10) -> dict:
    """An ECharts option: the most rising hot spots as horizontal bars, this window beside the
    previous one (largest change on top)."""
    shown = list(report.rising[:limit])[::-1]
    return {
        "tooltip": {"trigger": "axis", "axisPointer": {"type": "shadow"}},
        "legend": {"data": [before_label, now_label], "top": 0, "right": 0},
        "grid": {"top": 32, "left": 8, "right": 24, "bottom": 8, "containLabel": True},
        "xAxis": {"type": "value", "minInterval": 1},
        "yAxis": {"type": "category", "data": [hotspot_label(h, district_names) for h in shown]},
        "series": [
            {"name": before_label, "type": "bar", "data": [h.before for h in shown], "itemStyle": {"color": "#aeb7c6"}},
            {"name": now_label, "type": "bar", "data": [h.count for h in shown],
             "label": {"show": True, "position": "right"}},
        ],
    }


def heat_chart(report: HotspotReport, *, district_names: dict[int, str], category_names: dict[str, str],
               uncategorised: str) -> dict:
    """An ECharts option: the window's requests per district (rows) and top-level category
    (columns) as a heat map."""
    districts = sorted({d for d, _c, _n in report.heat}, key=lambda d: district_names.get(d, ""))
    codes = sorted({c for _d, c, _n in report.heat}, key=lambda c: (c == "", c))
    x = {code: i for i, code in enumerate(codes)}
    y = {district: i for i, district in enumerate(districts)}
    data = [[x[c], y[d], n] for d, c, n in report.heat]
    return {
        "tooltip": {"position": "top"},
        "grid": {"top": 8, "left": 8, "right": 8, "bottom": 56, "containLabel": True},
        "xAxis": {"type": "category", "data": [category_names.get(c, c) if c else uncategorised for c in codes],
                  "splitArea": {"show": True}, "axisLabel": {"interval": 0, "rotate": 30}},
        "yAxis": {"type": "category", "data": [district_names.get(d, "") for d in districts],
                  "splitArea": {"show": True}},
        "visualMap": {"min": 0, "max": max((n for _d, _c, n in report.heat), default=1), "calculable": True,
                      "orient": "horizontal", "left": "center", "bottom": 0,
                      "inRange": {"color": ["#eef3fb", "#7aa0d8", "#1f4e9c"]}},
        "series": [{"type": "heatmap", "data": data, "label": {"show": True}}],
    }
