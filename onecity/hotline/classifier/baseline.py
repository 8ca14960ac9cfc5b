"""The yardstick: the fixed evaluation split of the shared labelled data and the classic
"TF-IDF + linear SVM" baseline, as a reader of Chinese text-classification papers expects it:
jieba word segmentation (default mode), scikit-learn's ``TfidfVectorizer()`` with its
defaults on the space-joined words, and ``LinearSVC()`` with its defaults (C=1).

Used by bench/hotline_classifier.py and the tests; never at dispatch time.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.model_selection import train_test_split

from onecity.hotline.classifier.data import read_csv

SPLIT_SEED = 20261123
TEST_SHARE = 0.2
#: real, anonymised, labelled 12345 messages (7 categories); lives beside the repository and
#: is never committed
SHARED_CSV = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "hotline" / "complaints_train.csv"


@dataclass(frozen=True)
class Split:
    train_texts: list[str]
    train_labels: list[str]
    test_texts: list[str]
    test_labels: list[str]


def fixed_split(path: Path = SHARED_CSV) -> Split:
    """Stratified 80/20 split of the shared data with seed 20261123 (the same every run)."""
    data = read_csv(path)
    rows = np.arange(len(data))
    train_rows, test_rows = train_test_split(rows, test_size=TEST_SHARE, stratify=data.labels,
                                             random_state=SPLIT_SEED)
    return Split([data.texts[i] for i in train_rows], [data.labels[i] for i in train_rows],
                 [data.texts[i] for i in test_rows], [data.labels[i] for i in test_rows])


def _segment(texts: Sequence[str]) -> list[str]:
    import jieba

    if jieba.dt.tmp_dir is None:
        jieba.dt.tmp_dir = tempfile.gettempdir()  # where jieba caches its prefix dictionary
    jieba.setLogLevel(logging.WARNING)
    return [" ".join(jieba.lcut(text)) for text in texts]


class Baseline:
    """jieba + TfidfVectorizer() + LinearSVC(): fit on texts, predict labels."""

    def fit(self, texts: Sequence[str], labels: Sequence[str]) -> Baseline:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.svm import LinearSVC

        self.vectoriser = TfidfVectorizer()
        self.svm = LinearSVC(random_state=SPLIT_SEED)
        self.svm.fit(self.vectoriser.fit_transform(_segment(texts)), list(labels))
        return self

    def predict(self, texts: Sequence[str]) -> list[str]:
        return [str(label) for label in self.svm.predict(self.vectoriser.transform(_segment(texts)))]
