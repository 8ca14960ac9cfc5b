"""The dispatch classifier: NB-weighted linear SVMs over character n-grams and the votes of
the most similar training requests, stacked under a multinomial logistic regression that
makes them calibrated probabilities.

Training (`train`):

1. every text is normalised (`features.normalise`) and turned into character 1–2-gram
   TF-IDF vectors (`features.CharNgramTfidf`);
2. for each category k, every feature is scaled by its naive-Bayes log-count ratio
   r_k = log(P(feature | k) / P(feature | not k)) and a one-vs-rest linear SVM is trained
   on the scaled vectors (NB-SVM, Wang & Manning 2012). Because the scaling is per feature,
   it folds into the weights: the model is one feature-by-category matrix and predicting
   costs one sparse product;
3. nearest neighbours: the `Params.knn_k` training requests most similar to a text (dot
   product of the tf-idf vectors over the n-grams found in at most `Params.knn_max_df` of
   the training texts; the model keeps those parts of the training vectors) vote for their
   categories, each with its similarity — k more numbers per text, which the SVMs' one
   weight per n-gram cannot express (a request that closely resembles a few earlier ones);
4. the same recipe is trained on k-fold splits of the training data (vocabulary and
   neighbours included) and the out-of-fold SVM scores and neighbour votes give (a) an
   honest cross-validated accuracy and macro-F1 stored with the model and (b) the training
   set of a small multinomial logistic regression from the k scores and k votes to the k
   categories (stacking; ``Params.stack_C``). It learns how each one-vs-rest score and vote
   weighs against the others (the SVMs are trained separately, so their scales differ) and
   its softmax output is calibrated, so `confidence` behaves like a probability: of the
   requests the model gives confidence 0.8, about 80 % are right. At prediction time it is
   one k×2k matrix product.

Everything is deterministic for a given seed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import overload

import numpy as np
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import StratifiedKFold
from sklearn.svm import LinearSVC

from onecity.hotline.classifier.features import Alphabet, CharNgramTfidf, normalise

#: bumped whenever the saved file's layout or the meaning of a parameter changes
MODEL_FORMAT = 3
#: format 1 (a softmax temperature instead of the stacked regression) and format 2 (the stack
#: over the SVM scores only, no neighbours) still load
_READABLE_FORMATS = (1, 2, 3)
DEFAULT_SEED = 20261123


@dataclass(frozen=True)
class Params:
    """Hyper-parameters (chosen by 5-fold cross-validation on the training part of the shared
    labelled data; see docs/decisions/0005-dispatch-classifier.md)."""

    ngram_range: tuple[int, int] = (1, 2)
    min_df: int = 2
    max_chars: int = 2000  # longer requests keep head and tail (features.normalise)
    C: float = 1.0  # inverse regularisation strength of each one-vs-rest SVM
    nb_alpha: float = 1.0  # smoothing of the naive-Bayes log-count ratios
    balanced: bool = False  # weight each one-vs-rest problem's two sides equally
    calibration_folds: int = 3
    knn_k: int = 10  # training requests whose similarity votes feed the stack (0: no neighbours)
    knn_max_df: float = 0.05  # similarity counts only n-grams found in at most this share of the texts
    stack_C: float = 1.0  # inverse regularisation strength of the stacked logistic regression
    top_k: int = 3

    def as_dict(self) -> dict:
        return {**asdict(self), "ngram_range": list(self.ngram_range)}

    @classmethod
    def from_dict(cls, data: dict) -> Params:
        known = {f.name for f in fields(cls)}  # a format-1 file has no stack_C: the default
        return cls(**{k: v for k, v in data.items() if k in known} | {"ngram_range": tuple(data["ngram_range"])})


@dataclass(frozen=True)
class Prediction:
    """The model's reading of one request: the most likely category, its calibrated
    probability, and the `top_k` most likely categories with their probabilities (sorted,
    most likely first; the probabilities of all categories sum to 1)."""

    category: str
    confidence: float
    top: list[tuple[str, float]]


@dataclass(frozen=True)
class Metrics:
    accuracy: float
    macro_f1: float
    n_train: int
    n_test: int
    per_class_f1: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


class TrainingError(ValueError):
    """The training data cannot make a model (too few examples or categories)."""


def _fingerprint(texts: Sequence[str], labels: Sequence[str], params: Params, seed: int) -> str:
    digest = hashlib.sha256()
    digest.update(json.dumps({"format": MODEL_FORMAT, "params": params.as_dict(), "seed": seed},
                             sort_keys=True).encode())
    for text, label in zip(texts, labels, strict=True):
        digest.update(text.encode("utf-8") + b"\x1f" + label.encode("utf-8") + b"\x1e")
    return digest.hexdigest()[:16]


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _fit_linear(X: sp.csr_matrix, y: np.ndarray, n_classes: int, params: Params,
                seed: int) -> tuple[np.ndarray, np.ndarray]:
    """NB-SVM, one-vs-rest: (weights features×classes float32, intercepts) with the
    naive-Bayes ratios folded into the weights."""
    present = (X > 0).astype(np.float32).tocsr()
    weights = np.zeros((X.shape[1], n_classes), dtype=np.float32)
    intercepts = np.zeros(n_classes, dtype=np.float64)
    for k in range(n_classes):
        inside = y == k
        if not inside.any():  # a class absent from this fold: never predicted by it
            intercepts[k] = -1e3
            continue
        p = params.nb_alpha + np.asarray(present[inside].sum(axis=0)).ravel()
        q = params.nb_alpha + np.asarray(present[~inside].sum(axis=0)).ravel()
        ratio = np.log((p / p.sum()) / (q / q.sum()))
        svm = LinearSVC(C=params.C, class_weight="balanced" if params.balanced else None,
                        random_state=seed, max_iter=5000)
        svm.fit(X @ sp.diags(ratio), inside)
        weights[:, k] = (svm.coef_.ravel() * ratio).astype(np.float32)
        intercepts[k] = float(svm.intercept_[0])
    return weights, intercepts


def _neighbour_matrix(X: sp.csr_matrix, max_df: float) -> sp.csr_matrix:
    """The training vectors as features × texts, keeping only the n-grams found in at most
    `max_df` of the texts: in cross-validation the votes of neighbours found on the rarer
    n-grams were no worse than on all of them, and a request's similarities to all training
    texts then cost a few thousand multiplications instead of a few hundred thousand."""
    by_feature = sp.csr_matrix(X.T, dtype=np.float32)
    common = np.diff(by_feature.indptr) > max_df * X.shape[0]
    by_feature.data[np.repeat(common, np.diff(by_feature.indptr))] = 0.0
    by_feature.eliminate_zeros()
    return by_feature


def _neighbour_votes(sims: np.ndarray, neighbour_labels: np.ndarray, n_classes: int, k: int) -> np.ndarray:
    """Per text (row of `sims`, its similarities to the training texts) and category, the
    summed similarity of those of its `k` most similar training texts in that category.
    Training texts of similarity 0 add nothing, so ties among them do not matter."""
    k = min(k, sims.shape[1])
    top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
    cells = (np.arange(sims.shape[0])[:, None] * n_classes + neighbour_labels[top]).ravel()
    weights = np.take_along_axis(sims, top, axis=1).ravel()
    return np.bincount(cells, weights=weights, minlength=sims.shape[0] * n_classes).reshape(-1, n_classes)


def _neighbour_votes_one(neighbours: sp.csr_matrix, neighbour_labels: np.ndarray, n_classes: int, k: int,
                         cols: np.ndarray, data: np.ndarray) -> np.ndarray:
    """`_neighbour_votes` of one text given as the values `data` of its vector at columns
    `cols`: gathers the rows of its n-grams from `neighbours` directly (no sparse matrix is
    built) and looks for the top `k` among the training texts of non-zero similarity only."""
    indptr = neighbours.indptr
    starts = indptr[cols]
    lengths = indptr[cols + 1] - starts
    cells = np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(lengths.sum())
    sims = np.bincount(neighbours.indices[cells], weights=neighbours.data[cells] * np.repeat(data, lengths),
                       minlength=neighbours.shape[1])
    near = np.flatnonzero(sims)
    if near.shape[0] > k:
        near = near[np.argpartition(-sims[near], k - 1)[:k]]
    return np.bincount(neighbour_labels[near], weights=sims[near], minlength=n_classes)


def _fit_stack(scores: np.ndarray, y: np.ndarray, n_classes: int, C: float) -> tuple[np.ndarray, np.ndarray]:
    """Multinomial logistic regression from out-of-fold SVM scores (and neighbour votes) to
    the classes: (k×m weights, k intercepts) such that softmax(scores @ weights.T + intercepts) are the
    probabilities. scikit-learn gives one row for two classes (the second class's logit);
    it becomes the two-row form with a zero first row."""
    stack = LogisticRegression(C=C, max_iter=5000)
    stack.fit(scores, y)
    weights = np.zeros((n_classes, scores.shape[1]))
    intercepts = np.zeros(n_classes)
    if stack.coef_.shape[0] == 1:
        weights[1], intercepts[1] = stack.coef_[0], stack.intercept_[0]
    else:
        weights[stack.classes_], intercepts[stack.classes_] = stack.coef_, stack.intercept_
    return weights, intercepts


class DispatchModel:
    """A trained classifier. Create with `train` or `DispatchModel.load`."""

    def __init__(self, *, vectoriser: CharNgramTfidf, weights: np.ndarray, intercepts: np.ndarray,
                 labels: list[str], stack_weights: np.ndarray, stack_intercepts: np.ndarray, params: Params,
                 version: str, trained_at: str, neighbours: sp.csr_matrix | None = None,
                 neighbour_labels: np.ndarray | None = None,
                 n_train: int, seed: int, cv_metrics: dict | None = None, metrics: dict | None = None) -> None:
        self.vectoriser = vectoriser
        self.weights = np.ascontiguousarray(weights, dtype=np.float32)
        self.intercepts = np.asarray(intercepts, dtype=np.float64)
        self.labels = list(labels)
        self.stack_weights = np.asarray(stack_weights, dtype=np.float64)  # probabilities =
        self.stack_intercepts = np.asarray(stack_intercepts, dtype=np.float64)  # softmax(s @ W.T + b)
        # the training texts' tf-idf vectors, features × texts (None: a model without neighbours)
        self.neighbours = None if neighbours is None else sp.csr_matrix(neighbours, dtype=np.float32)
        self.neighbour_labels = None if neighbour_labels is None else np.asarray(neighbour_labels, dtype=np.int64)
        self.params = params
        self.version = version
        self.trained_at = trained_at
        self.n_train = int(n_train)
        self.seed = int(seed)
        self.cv_metrics = cv_metrics or {}
        self.metrics = metrics or {}

    def __repr__(self) -> str:
        return (f"<DispatchModel {self.version}: {len(self.labels)} categories, {self.n_train} examples, "
                f"{self.vectoriser.n_features} features>")

    # prediction -------------------------------------------------------------------------
    def decision(self, texts: Sequence[str]) -> np.ndarray:
        """Raw SVM scores, one row per text, one column per label (in `labels` order)."""
        return self._stack_input(self._vectors(texts))[:, :len(self.labels)]

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        return self._probabilities(self._stack_input(self._vectors(texts)))

    def _vectors(self, texts: Sequence[str]) -> sp.csr_matrix:
        return self.vectoriser.transform([normalise(t, max_chars=self.params.max_chars) for t in texts])

    def _stack_input(self, X: sp.csr_matrix) -> np.ndarray:
        """The SVM scores, then (with neighbours) the neighbour votes, one row per text."""
        scores = np.asarray(X @ self.weights, dtype=np.float64) + self.intercepts
        if self.neighbours is None:
            return scores
        sims = np.asarray((X @ self.neighbours).toarray(), dtype=np.float64)
        return np.hstack([scores, _neighbour_votes(sims, self.neighbour_labels, len(self.labels),
                                                   self.params.knn_k)])

    def _probabilities(self, scores: np.ndarray) -> np.ndarray:
        return _softmax(scores @ self.stack_weights.T + self.stack_intercepts)

    @overload
    def predict(self, texts: str) -> Prediction: ...

    @overload
    def predict(self, texts: Sequence[str]) -> list[Prediction]: ...

    def predict(self, texts):
        """One text gives one `Prediction`; a list of texts gives a list of them."""
        if isinstance(texts, str):
            return self.predict_one(texts)
        return self.predict_many(texts)

    def predict_one(self, text: str) -> Prediction:
        cols, data = self.vectoriser.transform_one(normalise(text, max_chars=self.params.max_chars))
        scores = (data @ self.weights[cols]).astype(np.float64) + self.intercepts
        if self.neighbours is not None:
            votes = _neighbour_votes_one(self.neighbours, self.neighbour_labels, len(self.labels),
                                         self.params.knn_k, cols, data)
            scores = np.concatenate([scores, votes])
        return self._prediction(self._probabilities(scores[None, :])[0])

    def predict_many(self, texts: Sequence[str], *, batch_size: int = 1024) -> list[Prediction]:
        out: list[Prediction] = []
        for start in range(0, len(texts), batch_size):
            probs = self.probabilities(texts[start:start + batch_size])
            out.extend(self._prediction(row) for row in probs)
        return out

    def _prediction(self, probs: np.ndarray) -> Prediction:
        k = min(self.params.top_k, len(self.labels))
        order = np.argsort(-probs, kind="stable")[:k]
        top = [(self.labels[i], round(float(probs[i]), 6)) for i in order]
        return Prediction(category=top[0][0], confidence=top[0][1], top=top)

    # persistence ------------------------------------------------------------------------
    def info(self) -> dict:
        """What the model is: for the version table, the CLI and the logs."""
        return {"format": MODEL_FORMAT, "version": self.version, "trained_at": self.trained_at,
                "n_train": self.n_train, "labels": self.labels, "params": self.params.as_dict(),
                "seed": self.seed, "n_features": self.vectoriser.n_features,
                "cv_metrics": self.cv_metrics, "metrics": self.metrics}

    def save(self, path: str | Path) -> Path:
        """Write the model to `path` atomically (numpy .npz: arrays and JSON metadata only, no
        pickled code, so loading a model file cannot execute anything)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        vec = self.vectoriser
        alphabet = np.frombuffer(vec.alphabet.chars.encode("utf-32-le"), dtype=np.uint32)
        neighbours = {}
        if self.neighbours is not None:
            neighbours = {"neighbour_data": self.neighbours.data, "neighbour_indices": self.neighbours.indices,
                          "neighbour_indptr": self.neighbours.indptr, "neighbour_labels": self.neighbour_labels}
        handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as out:
                np.savez_compressed(out, meta=np.array(json.dumps(self.info(), ensure_ascii=False)),
                                    vocabulary=vec.vocabulary_, idf=vec.idf_, alphabet=alphabet,
                                    weights=self.weights, intercepts=self.intercepts,
                                    stack_weights=self.stack_weights, stack_intercepts=self.stack_intercepts,
                                    **neighbours)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path

    @classmethod
    def load(cls, path: str | Path) -> DispatchModel:
        with np.load(Path(path), allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            if meta.get("format") not in _READABLE_FORMATS:
                raise ValueError(f"{path}: model format {meta.get('format')!r}, this code reads {MODEL_FORMAT}; "
                                 "retrain the model")
            params = Params.from_dict(meta["params"] if meta["format"] >= 3 else {**meta["params"], "knn_k": 0})
            vec = CharNgramTfidf(ngram_range=params.ngram_range, min_df=params.min_df)
            vec.alphabet = Alphabet(data["alphabet"].astype("<u4").tobytes().decode("utf-32-le"))
            vec.vocabulary_ = data["vocabulary"]
            vec.idf_ = data["idf"]
            n_labels = len(meta["labels"])
            if meta["format"] == 1:  # softmax(scores / T) is the stack with weights I / T
                stack_weights, stack_intercepts = np.eye(n_labels) / meta["temperature"], np.zeros(n_labels)
            else:
                stack_weights, stack_intercepts = data["stack_weights"], data["stack_intercepts"]
            neighbours = neighbour_labels = None
            if params.knn_k:
                neighbour_labels = data["neighbour_labels"]
                neighbours = sp.csr_matrix((data["neighbour_data"], data["neighbour_indices"], data["neighbour_indptr"]),
                                           shape=(vec.n_features, neighbour_labels.shape[0]))
            return cls(vectoriser=vec, weights=data["weights"], intercepts=data["intercepts"],
                       labels=meta["labels"], stack_weights=stack_weights, stack_intercepts=stack_intercepts,
                       params=params, neighbours=neighbours, neighbour_labels=neighbour_labels,
                       version=meta["version"], trained_at=meta["trained_at"], n_train=meta["n_train"],
                       seed=meta["seed"], cv_metrics=meta.get("cv_metrics"), metrics=meta.get("metrics"))


def _fit(texts: Sequence[str], y: np.ndarray, n_classes: int, params: Params,
         seed: int) -> tuple[CharNgramTfidf, sp.csr_matrix, np.ndarray, np.ndarray]:
    vec = CharNgramTfidf(ngram_range=params.ngram_range, min_df=params.min_df)
    X = vec.fit_transform(texts)
    weights, intercepts = _fit_linear(X, y, n_classes, params, seed)
    return vec, X, weights, intercepts


def train(texts: Sequence[str], labels: Sequence[str], *, seed: int = DEFAULT_SEED,
          params: Params | None = None, calibrate: bool = True) -> DispatchModel:
    """Train a model on labelled texts (module docstring). Raises TrainingError when there are
    fewer than two categories or texts and labels differ in number."""
    params = params or Params()
    texts, labels = list(texts), [str(label) for label in labels]
    if len(texts) != len(labels):
        raise TrainingError(f"{len(texts)} texts but {len(labels)} labels")
    label_set = sorted(set(labels))
    if len(label_set) < 2:
        raise TrainingError("training needs examples of at least two categories")
    index = {label: i for i, label in enumerate(label_set)}
    y = np.array([index[label] for label in labels], dtype=np.int64)
    normalised = [normalise(t, max_chars=params.max_chars) for t in texts]
    started = time.perf_counter()

    n_classes = len(label_set)
    stack_weights, stack_intercepts, cv_metrics = np.eye(n_classes), np.zeros(n_classes), {}
    smallest = int(np.bincount(y).min())
    folds = min(params.calibration_folds, smallest)
    calibrated = calibrate and folds >= 2
    if calibrated:
        oof = np.zeros((len(texts), n_classes * (2 if params.knn_k else 1)))
        splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
        for fit_rows, held_rows in splitter.split(np.zeros(len(y)), y):
            vec, X_fit, w, b = _fit([normalised[i] for i in fit_rows], y[fit_rows], n_classes, params, seed)
            held = vec.transform([normalised[i] for i in held_rows])
            oof[held_rows, :n_classes] = np.asarray(held @ w, dtype=np.float64) + b
            if params.knn_k:
                sims = np.asarray((held @ _neighbour_matrix(X_fit, params.knn_max_df)).toarray(), dtype=np.float64)
                oof[held_rows, n_classes:] = _neighbour_votes(sims, y[fit_rows], n_classes, params.knn_k)
        stack_weights, stack_intercepts = _fit_stack(oof, y, n_classes, params.stack_C)
        guessed = oof[:, :n_classes].argmax(axis=1)
        cv_metrics = {"folds": folds, "accuracy": round(float(accuracy_score(y, guessed)), 4),
                      "macro_f1": round(float(f1_score(y, guessed, average="macro")), 4),
                      "log_loss": round(float(-np.mean(np.log(
                          _softmax(oof @ stack_weights.T + stack_intercepts)[np.arange(len(y)), y] + 1e-12))), 4)}

    vec, X, weights, intercepts = _fit(normalised, y, n_classes, params, seed)
    cv_metrics["seconds"] = round(time.perf_counter() - started, 2)
    if not calibrated:  # no out-of-fold votes to weigh: the SVM scores alone, as a plain softmax
        params = replace(params, knn_k=0)
    neighbours = _neighbour_matrix(X, params.knn_max_df) if params.knn_k else None
    return DispatchModel(vectoriser=vec, weights=weights, intercepts=intercepts, labels=label_set,
                         stack_weights=stack_weights, stack_intercepts=stack_intercepts, params=params,
                         neighbours=neighbours, neighbour_labels=y if params.knn_k else None,
                         version=_fingerprint(texts, labels, params, seed),
                         trained_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), n_train=len(texts),
                         seed=seed, cv_metrics=cv_metrics)


def evaluate(model: DispatchModel, texts: Sequence[str], labels: Sequence[str], *, record: bool = True) -> Metrics:
    """Accuracy and macro-F1 of `model` on labelled texts (labels the model never saw count as
    errors). With `record`, the numbers are kept in `model.metrics` and saved with it."""
    if not texts:
        raise ValueError("nothing to evaluate: the test set is empty")
    predicted = [p.category for p in model.predict_many(list(texts))]
    truth = [str(label) for label in labels]
    names = sorted(set(truth) | set(model.labels))
    per_class = f1_score(truth, predicted, labels=names, average=None, zero_division=0)
    metrics = Metrics(accuracy=round(float(accuracy_score(truth, predicted)), 4),
                      macro_f1=round(float(f1_score(truth, predicted, average="macro", zero_division=0)), 4),
                      n_train=model.n_train, n_test=len(truth),
                      per_class_f1={n: round(float(f), 4) for n, f in zip(names, per_class, strict=True)})
    if record:
        model.metrics = metrics.as_dict()
    return metrics
