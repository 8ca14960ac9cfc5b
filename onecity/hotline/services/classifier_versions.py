"""Versions of the dispatch classifier: train, store, activate, load.

A trained model is a file under VAR_DIR/models/ and a ClassifierVersion row saying what it
learned from (`history`, `csv`, `demo`), how many examples, its labels and metrics. Exactly one
version is active (a partial unique constraint); training a new one activates it in the same
transaction as it deactivates the previous one.

Training data from history: every closed work order (结案, and 直接答复办结 when it has a
category) with its FINAL category — a dispatcher who corrected the classifier's guess changed
the case's category, so every correction becomes a training example.

`active_model()` loads the active version once per process and reloads it when another
version becomes active (one indexed query per call tells which version is active). That query
and `classifier_available()`'s run on every registration and every smart dispatch, so they are
one prepared statement on the cursor (`_active_row`), as reference.py's check is: the ORM would
compile the same three-column SELECT anew each time, at several times the cost of running it.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from onecity.core.audit import audit_record
from onecity.core.errors import ApplicationError
from onecity.core.ids import new_public_id
from onecity.hotline.enums import CaseState
from onecity.hotline.models import Case, ClassifierVersion

#: states whose category is final (the case will not be re-categorised)
LABELLED_STATES = (CaseState.CLOSED, CaseState.ANSWERED)
MIN_EXAMPLES = 20
MIN_LABELS = 2


def retrain_min_new() -> int:
    """How many newly labelled cases the weekly job waits for before retraining."""
    return int(getattr(settings, "HOTLINE_RETRAIN_MIN_NEW", 200))


def models_dir() -> Path:
    path = Path(settings.VAR_DIR) / "models"
    path.mkdir(parents=True, exist_ok=True)
    return path


@dataclass(frozen=True)
class LoadedModel:
    version_id: int
    version: str
    file: str  # unique per training run, so a reused primary key never serves a stale model
    model: object  # onecity.hotline.classifier.DispatchModel


_lock = threading.Lock()
_loaded: LoadedModel | None = None


# at most one row is active (a partial unique constraint): no ordering needed; the table name
# comes from the model, never from input
_ACTIVE_SQL = "SELECT id, version, file FROM {} WHERE is_active = %s LIMIT 1"


def _active_row() -> tuple[int, str, str] | None:
    """(id, version, file) of the active version, or None: one indexed query."""
    with connection.cursor() as cursor:
        cursor.execute(_ACTIVE_SQL.format(connection.ops.quote_name(ClassifierVersion._meta.db_table)), [True])
        row = cursor.fetchone()
    return tuple(row) if row is not None else None


def classifier_available() -> bool:
    """Whether a version is active (one indexed query; loads nothing)."""
    return _active_row() is not None


def active_model() -> LoadedModel | None:
    """The active classifier, loaded once per process; None when none was trained yet."""
    global _loaded
    row = _active_row()
    if row is None:
        return None
    pk, version, file = row
    current = _loaded
    if current is not None and (current.version_id, current.file) == (pk, file):
        return current
    from onecity.hotline.classifier import DispatchModel

    with _lock:
        if _loaded is None or (_loaded.version_id, _loaded.file) != (pk, file):
            path = Path(settings.VAR_DIR) / file
            if not path.exists():
                return None
            _loaded = LoadedModel(version_id=pk, version=version, file=file, model=DispatchModel.load(path))
        return _loaded


def history_examples(*, since: dt.datetime | None = None) -> tuple[list[str], list[str]]:
    """(texts, category codes) of the labelled cases, oldest first."""
    rows = Case.objects.filter(state__in=LABELLED_STATES, category__isnull=False)
    if since is not None:
        rows = rows.filter(closed_at__gt=since)
    rows = rows.order_by("closed_at", "id").values_list("title", "text", "category__code")
    texts, labels = [], []
    for title, text, code in rows.iterator(chunk_size=2000):
        texts.append(example_text(title, text))
        labels.append(code)
    return texts, labels


def example_text(title: str, text: str) -> str:
    """What the classifier reads of a case (the same at training and at dispatch)."""
    return text if not title or text.startswith(title.rstrip("…")) else f"{title}\n{text}"


def _train(texts: list[str], labels: list[str]):
    from onecity.hotline.classifier import TrainingError, train

    try:
        return train(texts, labels)
    except TrainingError as exc:
        raise ApplicationError(str(exc), code="classifier_training") from None


def _check(texts: list[str], labels: list[str]) -> None:
    if len(texts) < MIN_EXAMPLES or len(set(labels)) < MIN_LABELS:
        raise ApplicationError(
            f"Not enough labelled examples to train on: {len(texts)} examples in {len(set(labels))} categories "
            f"(at least {MIN_EXAMPLES} in {MIN_LABELS} categories are needed).", code="classifier_too_little_data")


@transaction.atomic
def classifier_version_create(*, texts: list[str], labels: list[str], source: str, actor=None,
                              metrics: dict | None = None) -> ClassifierVersion:
    """Train on (texts, labels), store the model file, and make it the active version."""
    _check(texts, labels)
    model = _train(texts, labels)
    now = timezone.now()
    version = f"{now:%Y%m%d%H%M%S}-{source}-{len(texts)}"
    suffix = 1
    while ClassifierVersion.objects.filter(version=version).exists():
        suffix += 1
        version = f"{now:%Y%m%d%H%M%S}-{source}-{len(texts)}-{suffix}"
    path = models_dir() / f"dispatch-{version}-{new_public_id()}.model"
    model.save(path)
    ClassifierVersion.objects.filter(is_active=True).update(is_active=False)
    row = ClassifierVersion.objects.create(
        version=version, file=str(path.relative_to(Path(settings.VAR_DIR))), source=source, n_train=len(texts),
        labels=sorted(set(labels)), metrics=metrics or dict(getattr(model, "cv_metrics", None) or {}),
        trained_at=now, is_active=True)
    audit_record(actor=actor, action="hotline.classifier.train", object_type="classifier_version",
                 object_id=version, detail={"source": source, "n_train": len(texts), "labels": len(row.labels)})
    return row


def classifier_train_from_history(*, actor=None, source: str = "history",
                                  min_new: int | None = None) -> ClassifierVersion | None:
    """Train a new active version on every labelled case. With `min_new`, train only when at
    least that many cases were labelled since the active version was trained (None = always);
    returns None when it did not train."""
    if min_new is not None:
        active = ClassifierVersion.objects.filter(is_active=True).first()
        if active is not None:
            fresh = Case.objects.filter(state__in=LABELLED_STATES, category__isnull=False,
                                        closed_at__gt=active.trained_at).count()
            if fresh < min_new:
                return None
    texts, labels = history_examples()
    if min_new is not None and (len(texts) < MIN_EXAMPLES or len(set(labels)) < MIN_LABELS):
        return None
    return classifier_version_create(texts=texts, labels=labels, source=source, actor=actor)


def read_csv(path: str | Path) -> tuple[list[str], list[str]]:
    """(texts, categories) of a CSV file with a header and the columns `text,category`."""
    from onecity.hotline.classifier import DatasetError
    from onecity.hotline.classifier import read_csv as dataset_read

    try:
        data = dataset_read(path)
    except DatasetError as exc:
        raise ApplicationError(str(exc), code="csv_invalid") from None
    return data.texts, data.labels


def classifier_train_from_csv(*, path: str | Path, actor=None) -> ClassifierVersion:
    texts, labels = read_csv(path)
    return classifier_version_create(texts=texts, labels=labels, source="csv", actor=actor)


def classifier_evaluate(*, train_texts: list[str], train_labels: list[str], test_texts: list[str],
                        test_labels: list[str]) -> dict:
    """Train on one set, predict the other: accuracy, macro-F1 and the sizes. Stores nothing."""
    from onecity.hotline.classifier import evaluate

    _check(train_texts, train_labels)
    if not test_texts:
        raise ApplicationError("The test set is empty.", code="classifier_no_test_data")
    metrics = evaluate(_train(train_texts, train_labels), test_texts, test_labels, record=False)
    return {"accuracy": metrics.accuracy, "macro_f1": metrics.macro_f1, "n_train": metrics.n_train,
            "n_test": metrics.n_test}


def classifier_evaluate_csv(*, train_path: str | Path, test_path: str | Path) -> dict:
    train_texts, train_labels = read_csv(train_path)
    test_texts, test_labels = read_csv(test_path)
    return classifier_evaluate(train_texts=train_texts, train_labels=train_labels, test_texts=test_texts,
                               test_labels=test_labels)
