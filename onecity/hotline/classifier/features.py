"""Text features for the dispatch classifier: normalisation and vectorised character n-gram TF-IDF.

Chinese has no spaces between words, and a request's category shows in short character runs
(欠薪, 噪音, 学校, 物业, 公交...). Character 1- to 3-grams catch those words and their parts
without a word segmenter, so the classifier needs no dictionary at prediction time and
handles new place names, misspellings and anonymised tokens (G4县, 西地省) gracefully.

`CharNgramTfidf` computes the same numbers as scikit-learn's
``TfidfVectorizer(analyzer="char", ngram_range=..., sublinear_tf=True, min_df=...)`` (a test
checks it) but extracts the n-grams with numpy instead of a Python loop over every
character: a whole batch of texts becomes one array of compact character ids, each n-gram
with its document one 64-bit integer (document index, then up to three 14-bit character
ids), one sort counts them, and the vocabulary is a sorted array searched with
``np.searchsorted``. That is what lets one core classify thousands of requests a second.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

#: each character is a 14-bit id in the model's alphabet, so a 3-gram takes 42 bits and the
#: document index of a batch fits in the 22 bits above it: one uint64 sort groups a batch.
_CHAR_BITS = 14
_DOC_BITS = 22
_MAX_N = 3
_SEPARATOR = 0  # between the texts of a batch; never inside a text
_UNKNOWN = 1  # a character the training texts did not contain
_FIRST_ID = 2
MAX_ALPHABET = (1 << _CHAR_BITS) - _FIRST_ID
MAX_BATCH = 1 << _DOC_BITS
_KEY_MASK = np.uint64((1 << (_CHAR_BITS * _MAX_N)) - 1)

_WHITESPACE = re.compile(r"\s+")
_DIGITS = re.compile(r"\d+")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def normalise(text: str, *, max_chars: int = 1200, head_share: float = 0.75) -> str:
    """The form of a request the model reads.

    - NFKC: full-width letters, digits and punctuation become half-width (ＡＢＣ１２３ → ABC123);
    - lower case; each run of digits becomes one ``0`` (dates, amounts and house numbers
      differ in every request and would only add noise);
    - whitespace runs become one space; control characters are dropped;
    - a text longer than `max_chars` keeps its head (`head_share` of the budget: the
      complaint is usually stated first) and its tail (the request and who should act),
      joined by a space. Long requests often quote regulations or chat logs in the middle.
    """
    text = unicodedata.normalize("NFKC", text or "").lower()
    text = _CONTROL.sub("", text)
    text = _DIGITS.sub("0", text)
    text = _WHITESPACE.sub(" ", text).strip()
    if max_chars and len(text) > max_chars:
        head = int(max_chars * head_share)
        tail = max_chars - head
        text = text[:head] + " " + text[-tail:] if tail > 0 else text[:head]
    return text


class Alphabet:
    """Maps Unicode characters to compact ids (most frequent first); every character outside
    it maps to one "unknown" id, so n-grams with unseen characters are simply not in the
    vocabulary."""

    def __init__(self, chars: str) -> None:
        if len(chars) > MAX_ALPHABET:
            raise ValueError(f"an alphabet holds at most {MAX_ALPHABET} characters")
        self.chars = chars
        table = np.full(0x110000, _UNKNOWN, dtype=np.uint16)
        table[_SEPARATOR] = _SEPARATOR
        if chars:
            points = np.frombuffer(chars.encode("utf-32-le"), dtype=np.uint32)
            table[points] = np.arange(_FIRST_ID, _FIRST_ID + len(chars), dtype=np.uint16)
        self._table = table

    @classmethod
    def learn(cls, texts: Sequence[str]) -> Alphabet:
        points = np.frombuffer("".join(texts).encode("utf-32-le"), dtype=np.uint32)
        distinct, counts = np.unique(points, return_counts=True)
        order = np.lexsort((distinct, -counts))[:MAX_ALPHABET]  # frequent first, ties by code point
        return cls("".join(chr(int(c)) for c in distinct[order] if c != 0))

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Character ids of the texts joined by separators (a trailing one included)."""
        joined = "\x00".join(texts) + "\x00"
        return self._table[np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32)].astype(np.uint64)


def _cells(ids: np.ndarray, ngram_range: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(document, n-gram key, count) of every distinct n-gram of every document, sorted by
    document then key. Keys pack character ids (all >= 1) 14 bits each, so keys of different
    lengths never collide; n-grams that would span a separator are dropped."""
    lo, hi = ngram_range
    length = ids.shape[0]
    is_sep = ids == _SEPARATOR
    seps_before = np.concatenate(([0], np.cumsum(is_sep))).astype(np.uint64)
    parts = []
    for n in range(lo, hi + 1):
        count = length - n + 1
        if count <= 0:
            continue
        key = ids[:count].copy()
        for j in range(1, n):
            key = (key << np.uint64(_CHAR_BITS)) | ids[j:j + count]
        valid = seps_before[n:n + count] == seps_before[:count]
        parts.append((seps_before[:count][valid] << np.uint64(_CHAR_BITS * _MAX_N)) | key[valid])
    if not parts:
        empty = np.empty(0, np.uint64)
        return empty.astype(np.int64), empty, empty.astype(np.int64)
    cells, counts = np.unique(np.concatenate(parts), return_counts=True)
    docs = (cells >> np.uint64(_CHAR_BITS * _MAX_N)).astype(np.int64)
    return docs, cells & _KEY_MASK, counts


def decode_key(key: int, alphabet: Alphabet) -> str:
    """The n-gram a key stands for (for explanations and tests)."""
    chars = []
    mask = (1 << _CHAR_BITS) - 1
    key = int(key)
    while key:
        char_id = key & mask
        chars.append("\ufffd" if char_id == _UNKNOWN else alphabet.chars[char_id - _FIRST_ID])
        key >>= _CHAR_BITS
    return "".join(reversed(chars))


class CharNgramTfidf:
    """Character n-gram TF-IDF with a fixed vocabulary learned by `fit`.

    tf = 1 + ln(count) (sublinear), idf = ln((1 + n) / (1 + df)) + 1 (smoothed, as
    scikit-learn), rows L2-normalised. N-grams seen in fewer than `min_df` training texts or
    in more than `max_df` of them are not in the vocabulary."""

    def __init__(self, *, ngram_range: tuple[int, int] = (1, 3), min_df: int = 2, max_df: float = 1.0,
                 sublinear_tf: bool = True) -> None:
        lo, hi = ngram_range
        if not 1 <= lo <= hi <= _MAX_N:
            raise ValueError(f"ngram_range must lie within 1..{_MAX_N}, got {ngram_range}")
        self.ngram_range = (lo, hi)
        self.min_df = min_df
        self.max_df = max_df
        self.sublinear_tf = sublinear_tf
        self.alphabet: Alphabet | None = None
        self.vocabulary_: np.ndarray | None = None  # sorted uint64 keys
        self.idf_: np.ndarray | None = None  # float32, aligned with vocabulary_

    @property
    def n_features(self) -> int:
        return 0 if self.vocabulary_ is None else int(self.vocabulary_.shape[0])

    def fit(self, texts: Sequence[str]) -> CharNgramTfidf:
        self.fit_transform(texts)
        return self

    def fit_transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        n_docs = len(texts)
        if n_docs == 0:
            raise ValueError("cannot fit on no texts")
        self._check_batch(n_docs)
        self.alphabet = Alphabet.learn(texts)
        docs, keys, counts = _cells(self.alphabet.encode(texts), self.ngram_range)
        distinct, column, df = np.unique(keys, return_inverse=True, return_counts=True)
        keep = df >= self.min_df
        if self.max_df < 1.0:
            keep &= df <= self.max_df * n_docs
        if not keep.any():
            raise ValueError("no character n-gram occurs often enough to learn from; give more or longer texts")
        self.vocabulary_ = distinct[keep]
        self.idf_ = (np.log((1.0 + n_docs) / (1.0 + df[keep])) + 1.0).astype(np.float32)
        new_column = np.cumsum(keep) - 1  # distinct index -> vocabulary column (where kept)
        column = column.ravel()
        kept = keep[column]
        return self._weigh(docs[kept], new_column[column[kept]], counts[kept], n_docs)

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        if self.vocabulary_ is None or self.alphabet is None:
            raise ValueError("the vectoriser is not fitted")
        n_docs = len(texts)
        self._check_batch(n_docs)
        docs, keys, counts = _cells(self.alphabet.encode(texts), self.ngram_range)
        vocab = self.vocabulary_
        pos = np.minimum(np.searchsorted(vocab, keys), vocab.shape[0] - 1)
        known = vocab[pos] == keys
        return self._weigh(docs[known], pos[known], counts[known], n_docs)

    def transform_one(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """(columns, weights) of one text's L2-normalised tf-idf: the single-request path,
        without building a sparse matrix."""
        if self.vocabulary_ is None or self.alphabet is None:
            raise ValueError("the vectoriser is not fitted")
        _docs, keys, counts = _cells(self.alphabet.encode([text]), self.ngram_range)
        vocab = self.vocabulary_
        pos = np.minimum(np.searchsorted(vocab, keys), vocab.shape[0] - 1)
        known = vocab[pos] == keys
        cols, counts = pos[known], counts[known].astype(np.float32)
        data = (np.log(counts) + np.float32(1.0) if self.sublinear_tf else counts) * self.idf_[cols]
        norm = float(np.sqrt(np.dot(data, data)))
        return cols, (data / norm if norm else data)

    @staticmethod
    def _check_batch(n_docs: int) -> None:
        if n_docs > MAX_BATCH:
            raise ValueError(f"at most {MAX_BATCH} texts at a time")

    def _weigh(self, rows: np.ndarray, cols: np.ndarray, counts: np.ndarray, n_docs: int) -> sp.csr_matrix:
        """CSR matrix of L2-normalised tf-idf from (row, column, count) cells sorted by row, column."""
        n_features = self.vocabulary_.shape[0]
        cols = cols.astype(np.int32)
        tf = counts.astype(np.float32)
        if self.sublinear_tf:
            tf = np.log(tf) + np.float32(1.0)
        data = tf * self.idf_[cols]
        norms = np.sqrt(np.bincount(rows, weights=data.astype(np.float64) ** 2, minlength=n_docs))
        norms[norms == 0] = 1.0
        data = (data / norms[rows]).astype(np.float32)
        indptr = np.zeros(n_docs + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=n_docs), out=indptr[1:])
        return sp.csr_matrix((data, cols, indptr), shape=(n_docs, n_features))
