"""The dispatch classifier without Django: training, prediction, calibration, persistence,
versioning, CSV input and the command-line entry points, on a small synthetic Chinese data
set made here (deterministic)."""

from __future__ import annotations

import json
import random
from dataclasses import replace

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer

from onecity.hotline.classifier import (
    DatasetError,
    DispatchModel,
    Prediction,
    TrainingError,
    cli_evaluate,
    cli_train,
    evaluate,
    read_csv,
    train,
)
from onecity.hotline.classifier.cli import main
from onecity.hotline.classifier.features import CharNgramTfidf, decode_key, normalise
from onecity.hotline.classifier.model import _neighbour_votes, _neighbour_votes_one

TOPICS = {
    "交通运输": ["公交车", "地铁站", "红绿灯", "出租车", "道路拥堵", "停车位", "驾驶证", "客运站"],
    "教育文体": ["学校", "老师", "补课", "学费", "幼儿园", "体育馆", "图书馆", "招生"],
    "环境保护": ["噪音", "污水", "废气", "扬尘", "排污口", "垃圾焚烧", "异味", "河道污染"],
    "劳动和社会保障": ["工资", "社保", "拖欠", "劳动合同", "养老金", "加班费", "失业金", "工伤"],
}
PLACES = ["鼓楼区", "台江区", "仓山区", "晋安区", "马尾区", "长乐区"]
OPENINGS = ["尊敬的领导：您好！", "您好，", "我要反映一个问题，", "市民来电反映："]
ENDINGS = ["希望尽快处理。", "请相关部门核实。", "望给予答复，谢谢！", "恳请领导重视。"]


def make_examples(n_per_class: int, seed: int) -> tuple[list[str], list[str]]:
    rng = random.Random(seed)
    texts, labels = [], []
    for label, words in TOPICS.items():
        for _ in range(n_per_class):
            picked = rng.sample(words, 3)
            texts.append(f"{rng.choice(OPENINGS)}{rng.choice(PLACES)}{rng.randint(1, 99)}号附近{picked[0]}的问题，"
                         f"{picked[1]}和{picked[2]}一直没有解决。{rng.choice(ENDINGS)}")
            labels.append(label)
    order = list(range(len(texts)))
    rng.shuffle(order)
    return [texts[i] for i in order], [labels[i] for i in order]


@pytest.fixture(scope="module")
def data():
    return make_examples(30, seed=1), make_examples(10, seed=2)


@pytest.fixture(scope="module")
def model(data):
    (texts, labels), _ = data
    return train(texts, labels, seed=7)


def test_round_trip_classifies_unseen_requests(model, data):
    _, (test_texts, test_labels) = data
    metrics = evaluate(model, test_texts, test_labels, record=False)
    assert metrics.accuracy == 1.0
    assert metrics.macro_f1 == 1.0
    assert (metrics.n_train, metrics.n_test) == (120, 40)
    assert set(metrics.per_class_f1) == set(TOPICS)
    assert model.labels == sorted(TOPICS)
    assert model.cv_metrics["folds"] == 3
    assert 0.9 <= model.cv_metrics["accuracy"] <= 1.0


def test_prediction_shape_confidence_and_top_k(model, data):
    _, (test_texts, _labels) = data
    predictions = model.predict(test_texts)
    assert len(predictions) == len(test_texts)
    for prediction in predictions:
        assert isinstance(prediction, Prediction)
        assert 0.0 <= prediction.confidence <= 1.0
        assert len(prediction.top) == 3
        scores = [score for _label, score in prediction.top]
        assert scores == sorted(scores, reverse=True)
        assert sum(scores) <= 1.0 + 1e-6
        assert prediction.top[0] == (prediction.category, prediction.confidence)
        assert len({label for label, _score in prediction.top}) == 3
    full = model.probabilities(test_texts)
    assert np.allclose(full.sum(axis=1), 1.0)


def test_single_and_batch_paths_agree(model, data):
    _, (test_texts, _labels) = data
    batch = model.predict_many(test_texts)
    for text, expected in zip(test_texts, batch, strict=True):
        single = model.predict(text)
        assert single.category == expected.category
        assert single.confidence == pytest.approx(expected.confidence, abs=1e-5)


def test_text_the_model_cannot_read_still_gets_a_prediction(model):
    for text in ["", "   ", "🙂🙂🙂", "ＡＢＣ"]:
        prediction = model.predict(text)
        assert prediction.category in model.labels
        assert 0.0 <= prediction.confidence <= 1.0


def test_confident_predictions_are_mostly_right(model, data):
    _, (test_texts, test_labels) = data
    for prediction, label in zip(model.predict(test_texts), test_labels, strict=True):
        if prediction.confidence >= 0.9:
            assert prediction.category == label


def test_save_load_gives_identical_predictions(model, data, tmp_path):
    _, (test_texts, _labels) = data
    path = model.save(tmp_path / "models" / "dispatch.npz")
    assert [p.name for p in path.parent.iterdir()] == ["dispatch.npz"]  # no temporary file left
    loaded = DispatchModel.load(path)
    assert loaded.predict_many(test_texts) == model.predict_many(test_texts)
    assert [loaded.predict(t) for t in test_texts[:5]] == [model.predict(t) for t in test_texts[:5]]
    assert loaded.info() == model.info()


def test_load_refuses_another_format(model, tmp_path):
    path = model.save(tmp_path / "m.npz")
    with np.load(path) as data:
        arrays = dict(data)
    meta = json.loads(str(arrays["meta"]))
    meta["format"] = 999
    arrays["meta"] = np.array(json.dumps(meta))
    np.savez(tmp_path / "old.npz", **arrays)
    with pytest.raises(ValueError, match="model format 999"):
        DispatchModel.load(tmp_path / "old.npz")


def test_training_is_deterministic_and_versioned_by_data(data):
    (texts, labels), _ = data
    first = train(texts, labels, seed=7)
    again = train(texts, labels, seed=7)
    assert first.version == again.version
    assert np.array_equal(first.weights, again.weights)
    assert np.array_equal(first.stack_weights, again.stack_weights)
    assert np.array_equal(first.stack_intercepts, again.stack_intercepts)
    corrected = next(label for label in TOPICS if label != labels[-1])  # a dispatcher's correction
    changed_label = train(texts, [*labels[:-1], corrected], seed=7)
    more_data = train([*texts, "地铁站附近的公交车太少"], [*labels, "交通运输"], seed=7)
    other_seed = train(texts, labels, seed=8)
    versions = {first.version, changed_label.version, more_data.version, other_seed.version}
    assert len(versions) == 4
    assert more_data.n_train == 121


def test_two_categories_stack_into_two_probabilities():
    (texts, labels), (test_texts, test_labels) = make_examples(20, seed=3), make_examples(5, seed=4)
    two = {"环境保护", "教育文体"}
    model = train(*zip(*[(t, label) for t, label in zip(texts, labels, strict=True) if label in two], strict=True),
                  seed=7)
    assert model.labels == sorted(two)
    assert model.stack_weights.shape == (2, 4) and model.stack_weights[0].tolist() == [0.0] * 4
    kept = [(t, label) for t, label in zip(test_texts, test_labels, strict=True) if label in two]
    predictions = model.predict([t for t, _label in kept])
    assert [p.category for p in predictions] == [label for _t, label in kept]
    assert all(len(p.top) == 2 and sum(score for _l, score in p.top) == pytest.approx(1.0, abs=1e-5)
               for p in predictions)


def test_format_1_files_still_load(model, data, tmp_path):
    # format 1 stored a softmax temperature instead of the stacked regression
    _, (test_texts, _labels) = data
    path = model.save(tmp_path / "m.npz")
    with np.load(path) as saved:
        arrays = {k: v for k, v in saved.items() if k not in ("stack_weights", "stack_intercepts")}
    meta = json.loads(str(arrays["meta"]))
    meta["format"], meta["temperature"] = 1, 0.5
    del meta["params"]["stack_C"]
    arrays["meta"] = np.array(json.dumps(meta))
    np.savez(tmp_path / "old.npz", **arrays)
    old = DispatchModel.load(tmp_path / "old.npz")
    scores = model.decision(test_texts)
    expected = np.exp(scores / 0.5) / np.exp(scores / 0.5).sum(axis=1, keepdims=True)
    assert np.allclose(old.probabilities(test_texts), expected)
    assert old.params == replace(model.params, knn_k=0)  # format 1 had no neighbours
    assert old.neighbours is None


def test_format_2_files_still_load(model, data, tmp_path):
    # format 2 stacked the SVM scores only: a k×k stack, no neighbour arrays, no knn parameters
    _, (test_texts, _labels) = data
    path = model.save(tmp_path / "m.npz")
    with np.load(path) as saved:
        arrays = {k: v for k, v in saved.items() if not k.startswith("neighbour_")}
    n = len(model.labels)
    arrays["stack_weights"] = model.stack_weights[:, :n]
    meta = json.loads(str(arrays["meta"]))
    meta["format"] = 2
    del meta["params"]["knn_k"], meta["params"]["knn_max_df"]
    arrays["meta"] = np.array(json.dumps(meta))
    np.savez(tmp_path / "old.npz", **arrays)
    old = DispatchModel.load(tmp_path / "old.npz")
    logits = model.decision(test_texts) @ model.stack_weights[:, :n].T + model.stack_intercepts
    expected = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    assert np.allclose(old.probabilities(test_texts), expected)
    assert old.params == replace(model.params, knn_k=0) and old.neighbours is None
    assert [p.category for p in old.predict(test_texts[:5])] == [old.predict(t).category for t in test_texts[:5]]


def test_neighbours_vote_with_their_similarity(model):
    # the stack reads 4 SVM scores and 4 neighbour votes; the model keeps every training text's
    # vector restricted to the n-grams of at most 5 % of the texts (6 of 120)
    assert model.stack_weights.shape == (4, 8)
    assert model.neighbours.shape == (model.vectoriser.n_features, 120)
    assert model.neighbour_labels.tolist().count(model.labels.index("交通运输")) == 30
    assert 0 < np.diff(model.neighbours.indptr).max() <= 6
    sims = np.array([[0.9, 0.0, 0.5, 0.7, 0.2], [0.0, 0.0, 0.3, 0.0, 0.0]])
    labels = np.array([0, 1, 1, 0, 2])
    assert _neighbour_votes(sims, labels, 3, 2).tolist() == [[1.6, 0.0, 0.0], [0.0, 0.3, 0.0]]
    neighbours = sp.csr_matrix(np.array([[1.0, 0.0, 0.5, 0.0, 0.0], [0.0, 0.0, 0.0, 0.5, 0.2]]))
    # similarities 0.8 * row 0 + 1.0 * row 1 = [0.8, 0, 0.4, 0.5, 0.2]: the top 3 are texts 0, 3, 2
    one = _neighbour_votes_one(neighbours, labels, 3, 3, np.array([1, 0]), np.array([1.0, 0.8]))
    assert np.allclose(one, [0.8 + 0.5, 0.4, 0.0])
    assert np.allclose(one, _neighbour_votes((np.array([[0.8, 1.0]]) @ neighbours.toarray()), labels, 3, 3)[0])


def test_training_refuses_unusable_data():
    with pytest.raises(TrainingError, match="at least two categories"):
        train(["工资拖欠", "社保断缴"], ["劳动和社会保障", "劳动和社会保障"])
    with pytest.raises(TrainingError, match="2 texts but 1 labels"):
        train(["工资拖欠", "噪音扰民"], ["劳动和社会保障"])


def test_tiny_classes_train_without_calibration():
    model = train(["拖欠工资", "公交车晚点", "拖欠加班费"], ["劳动", "交通", "劳动"])
    assert np.array_equal(model.stack_weights, np.eye(2)) and np.array_equal(model.stack_intercepts, np.zeros(2))
    assert "folds" not in model.cv_metrics
    assert model.params.knn_k == 0 and model.neighbours is None  # no out-of-fold votes to weigh
    assert model.predict("拖欠工资").category == "劳动"


def test_features_match_scikit_learn(data):
    (texts, _labels), (test_texts, _l) = data
    texts = [normalise(t) for t in texts]
    test_texts = [normalise(t) for t in test_texts]
    ours = CharNgramTfidf(ngram_range=(1, 3), min_df=2)
    reference = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True, min_df=2, lowercase=False)
    ours_train, ref_train = ours.fit_transform(texts), reference.fit_transform(texts)
    names = [decode_key(k, ours.alphabet) for k in ours.vocabulary_]
    assert sorted(names) == sorted(reference.get_feature_names_out())
    order = [names.index(n) for n in reference.get_feature_names_out()]
    assert np.allclose(ours_train[:, order].toarray(), ref_train.toarray(), atol=1e-6)
    assert np.allclose(ours.transform(test_texts)[:, order].toarray(),
                       reference.transform(test_texts).toarray(), atol=1e-6)
    cols, weights = ours.transform_one(test_texts[0])
    row = ours.transform(test_texts[:1])
    assert np.array_equal(np.sort(cols), row.indices)
    assert np.allclose(weights[np.argsort(cols)], row.data, atol=1e-6)


def test_normalise():
    assert normalise("ＡＢＣ１２３号　楼") == "abc0号 楼"
    assert normalise("2024年5月3日\t\n投诉\x00") == "0年0月0日 投诉"
    long = "甲" * 900 + "乙" * 900
    short = normalise(long, max_chars=100)
    assert short == "甲" * 75 + " " + "乙" * 25
    assert normalise("短文本", max_chars=100) == "短文本"


# CSV ------------------------------------------------------------------------------------

def write(tmp_path, name, content, encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(content.encode(encoding))
    return path


def test_read_csv_skips_and_counts_incomplete_rows(tmp_path):
    path = write(tmp_path, "a.csv", "\ufefftext,category,extra\n拖欠工资,劳动,x\n,劳动,x\n噪音扰民,,x\n"
                 "\"多行\n文本, 带逗号\",环境,x\n")
    data = read_csv(path)
    assert data.texts == ["拖欠工资", "多行\n文本, 带逗号"]
    assert data.labels == ["劳动", "环境"]
    assert data.skipped == 2


@pytest.mark.parametrize(("content", "message"), [
    ("", "the file is empty"),
    ("text,label\n拖欠工资,劳动\n", "missing column(s) category"),
    ("body,kind\n拖欠工资,劳动\n", "missing column(s) text, category"),
    ("text,category\n", "no row has both a text and a category (0 row(s) skipped)"),
    ("text,category\n,劳动\n", "no row has both a text and a category (1 row(s) skipped)"),
])
def test_read_csv_errors(tmp_path, content, message):
    path = write(tmp_path, "bad.csv", content)
    with pytest.raises(DatasetError) as caught:
        read_csv(path)
    assert message in str(caught.value)


def test_read_csv_missing_file_and_wrong_encoding(tmp_path):
    with pytest.raises(DatasetError, match="no such file"):
        read_csv(tmp_path / "nope.csv")
    path = write(tmp_path, "gbk.csv", "text,category\n拖欠工资,劳动\n", encoding="gbk")
    with pytest.raises(DatasetError, match="not UTF-8"):
        read_csv(path)


# entry points ----------------------------------------------------------------------------

def csv_of(tmp_path, name, texts, labels):
    import csv

    path = tmp_path / name
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "category"])
        writer.writerows(zip(texts, labels, strict=True))
    return path


def test_cli_train_and_evaluate(tmp_path, data, capsys):
    (texts, labels), (test_texts, test_labels) = data
    train_csv = csv_of(tmp_path, "train.csv", texts, labels)
    test_csv = csv_of(tmp_path, "test.csv", test_texts, test_labels)
    out = tmp_path / "model.npz"
    result = cli_train(train_csv, out)
    assert result["n_train"] == 120 and result["skipped"] == 0
    assert result["labels"] == sorted(TOPICS)
    assert DispatchModel.load(out).version == result["version"]
    assert cli_evaluate(train_csv, test_csv) == {"accuracy": 1.0, "macro_f1": 1.0, "n_train": 120, "n_test": 40}

    assert main(["evaluate", "--train", str(train_csv), "--test", str(test_csv)]) == 0
    line = capsys.readouterr().out.strip()
    assert json.loads(line) == {"accuracy": 1.0, "macro_f1": 1.0, "n_train": 120, "n_test": 40}
    assert "\n" not in line

    assert main(["evaluate", "--train", str(tmp_path / "missing.csv"), "--test", str(test_csv)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "missing.csv: no such file" in captured.err
