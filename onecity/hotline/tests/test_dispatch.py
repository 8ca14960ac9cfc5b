"""Smart dispatch: the classifier's category, confidence and top suggestions are stored on the
case; above the threshold the system accepts and dispatches to the matrix unit, below it (or with
no route, or with no trained model) the case waits in the manual queue. Retraining adds a new
active version; `onecity hotline train|evaluate|retrain` round trip."""

from __future__ import annotations

import csv
import io
import json
import random
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.management import CommandError, call_command

from onecity.hotline.enums import Action, CaseState
from onecity.hotline.models import Case, CaseEvent, ClassifierVersion, DispatchRoute
from onecity.hotline.services import cases as svc
from onecity.hotline.services import classifier_versions as versions
from onecity.hotline.services.dispatch import category_for_label, smart_dispatch_pending
from onecity.hotline.tasks import smart_dispatch_soon
from onecity.hotline.tests.support import register
from onecity.notifications.models import Message

pytestmark = pytest.mark.django_db
S = CaseState

ROAD = ["{p}路面塌陷出现一个大坑，电动车经过很危险", "{p}人行道砖松动破损，老人容易摔倒",
        "{p}井盖缺失，晚上看不清，存在安全隐患", "{p}道路坑洼不平，下雨天积水严重", "{p}路面开裂，车辆颠簸"]
WATER = ["{p}从早上开始停水，没有任何通知", "{p}自来水管爆裂，水流到路面上", "{p}自来水发黄有异味",
         "{p}水压太低，高层住户没有水用", "{p}停水十几个小时了，家里有老人小孩"]
PLACES = ["鼓楼区五四路", "台江区工业路", "仓山区金山大道", "晋安区福新路", "马尾区罗星路", "长乐区航城街道",
          "鼓楼区杨桥路", "台江区六一路"]


def examples(n_per_label: int = 24, seed: int = 7) -> tuple[list[str], list[str]]:
    rng = random.Random(seed)
    texts, labels = [], []
    for templates, label in ((ROAD, "urban.roads"), (WATER, "utility.water")):
        for _ in range(n_per_label):
            texts.append(rng.choice(templates).format(p=rng.choice(PLACES)) + rng.choice(["。", "，请尽快处理。",
                                                                                             "，希望有关部门解决。"]))
            labels.append(label)
    return texts, labels


@pytest.fixture
def model(city):
    texts, labels = examples()
    return versions.classifier_version_create(texts=texts, labels=labels, source="history")


@pytest.fixture
def route(city):
    return DispatchRoute.objects.create(category=city.potholes, district=city.district, unit=city.unit)


def pothole(city, **extra) -> Case:
    return register(city, text="鼓楼区五四路路面塌陷出现一个大坑，电动车经过很危险，请尽快处理。", **extra)


def test_no_model_everything_waits_for_the_dispatchers(city, route, django_capture_on_commit_callbacks):
    assert versions.active_model() is None
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        case = pothole(city)
    assert callbacks == []  # nothing scheduled
    assert smart_dispatch_pending() == []
    case.refresh_from_db()
    assert (case.state, case.category_id, case.classifier_confidence, case.classifier_suggestions,
            case.awaiting_classifier) == (S.REGISTERED, None, None, [], False)
    assert list(CaseEvent.objects.filter(case=case).values_list("action", flat=True)) == [Action.REGISTER]


def test_confident_case_is_dispatched_to_the_matrix_unit(city, route, model, settings,
                                                         django_capture_on_commit_callbacks):
    settings.HOTLINE_AUTO_DISPATCH_THRESHOLD = 0.5
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        case = pothole(city)
    # the smart-dispatch run first (run by the immediate worker), then the messages it caused
    assert callbacks[0] is smart_dispatch_soon
    case.refresh_from_db()
    assert (case.state, case.awaiting_classifier) == (S.DISPATCHED, False)
    assert case.category == city.potholes
    assert case.assigned_unit == city.unit
    assert case.accepted_at is not None and case.sign_due_at is not None and case.due_at is not None
    assert 0.5 <= case.classifier_confidence <= 1.0
    assert case.classifier_suggestions[0] == {"category": "urban.roads", "score": case.classifier_confidence}
    assert [s["category"] for s in case.classifier_suggestions] == ["urban.roads", "utility.water"]
    events = list(CaseEvent.objects.filter(case=case).order_by("id"))
    assert [(e.action, e.actor_id) for e in events] == [
        (Action.REGISTER, city.resident.pk), (Action.CLASSIFY, None), (Action.ACCEPT, None), (Action.DISPATCH, None)]
    assert events[1].data["category"] == "urban.roads"
    assert events[3].note.startswith("智能派单：道路破损，置信度 ")
    assert list(Message.objects.order_by("id").values_list("template", "recipient_id")) == [
        ("hotline.accepted", None), ("hotline.dispatched", city.handler.pk)]
    # a second run finds nothing to do and changes nothing
    before = CaseEvent.objects.count()
    assert smart_dispatch_pending() == []
    assert CaseEvent.objects.count() == before


def test_below_the_threshold_the_case_waits_with_suggestions(city, route, model, settings):
    settings.HOTLINE_AUTO_DISPATCH_THRESHOLD = 1.01  # no confidence reaches it
    case = pothole(city)
    assert case.awaiting_classifier is True
    [outcome] = smart_dispatch_pending()
    assert (outcome.case_id, outcome.classified, outcome.dispatched, outcome.reason) == (
        case.public_id, True, False, "low_confidence")
    case.refresh_from_db()
    assert (case.state, case.category, case.assigned_unit_id, case.awaiting_classifier) == (
        S.REGISTERED, city.potholes, None, False)
    assert case.classifier_confidence == outcome.confidence
    assert [s["category"] for s in case.classifier_suggestions] == ["urban.roads", "utility.water"]
    assert list(CaseEvent.objects.filter(case=case).values_list("action", flat=True)) == [
        Action.REGISTER, Action.CLASSIFY]
    assert not Message.objects.exists()


def test_no_route_in_the_matrix_waits_for_the_dispatchers(city, model, settings):
    settings.HOTLINE_AUTO_DISPATCH_THRESHOLD = 0.0
    case = pothole(city)
    [outcome] = smart_dispatch_pending()
    assert (outcome.classified, outcome.dispatched, outcome.reason) == (True, False, "no_route")
    case.refresh_from_db()
    assert (case.state, case.category, case.assigned_unit_id) == (S.REGISTERED, city.potholes, None)


def test_a_category_chosen_by_a_person_is_not_overridden(city, route, model, settings):
    settings.HOTLINE_AUTO_DISPATCH_THRESHOLD = 0.0
    case = pothole(city, actor=city.operator, category=city.water)
    assert case.awaiting_classifier is False
    assert smart_dispatch_pending() == []
    case.refresh_from_db()
    assert (case.state, case.category, case.classifier_confidence) == (S.REGISTERED, city.water, None)


def test_a_case_a_dispatcher_took_meanwhile_is_left_as_it_is(city, route, model, settings):
    settings.HOTLINE_AUTO_DISPATCH_THRESHOLD = 0.0
    case = pothole(city)
    svc.case_classify(actor=city.dispatcher, case_id=case.public_id, category_code="utility.water")
    [outcome] = smart_dispatch_pending()
    assert (outcome.case_id, outcome.classified, outcome.reason) == (case.public_id, False, "not_pending")
    case.refresh_from_db()
    assert (case.state, case.category, case.classifier_confidence, case.awaiting_classifier) == (
        S.REGISTERED, city.water, None, False)
    assert list(CaseEvent.objects.filter(case=case).values_list("action", flat=True)) == [
        Action.REGISTER, Action.CLASSIFY]


def test_a_model_withdrawn_before_the_run_leaves_the_cases_to_the_dispatchers(city, route, model, settings):
    settings.HOTLINE_AUTO_DISPATCH_THRESHOLD = 0.0
    case = pothole(city)
    ClassifierVersion.objects.update(is_active=False)
    [outcome] = smart_dispatch_pending()
    assert (outcome.classified, outcome.reason) == (False, "no_model")
    case.refresh_from_db()
    assert (case.state, case.category_id, case.awaiting_classifier) == (S.REGISTERED, None, False)
    assert CaseEvent.objects.filter(case=case).count() == 1


def test_a_batch_is_applied_with_the_same_statements_whatever_its_size(city, route, model, settings,
                                                                       django_assert_num_queries):
    """Cases of every outcome in one run: dispatched (the route's district), waiting for want of a
    route (the other district), taken by a dispatcher meanwhile; outcomes oldest first, and the
    statements of a run do not grow with the number of cases."""
    settings.HOTLINE_AUTO_DISPATCH_THRESHOLD = 0.0

    def burst(n: int) -> list[Case]:
        made = []
        for i in range(n):
            made.append(pothole(city) if i % 3 != 1 else pothole(city, district=city.other_district))
        svc.case_classify(actor=city.dispatcher, case_id=made[-1].public_id, category_code="utility.water")
        return made

    pothole(city)
    smart_dispatch_pending()  # the calendar and the model loaded once per process
    small = burst(3)
    # the reference data's check; the cases locked, the model's version, the units, the reporters'
    # numbers; one UPDATE per set of columns (dispatched, left waiting), the events, the units'
    # handlers, the messages, the cases no longer awaiting (savepoints: the test's transaction)
    with django_assert_num_queries(13) as run:
        outcomes = smart_dispatch_pending()
    assert [(o.case_id, o.dispatched, o.reason) for o in outcomes] == [
        (small[0].public_id, True, ""), (small[1].public_id, False, "no_route"),
        (small[2].public_id, False, "not_pending")]
    large = burst(9)
    with django_assert_num_queries(len(run.captured_queries)):
        outcomes = smart_dispatch_pending()
    assert [o.reason for o in outcomes] == ["", "no_route", ""] * 2 + ["", "no_route", "not_pending"]
    states = dict(Case.objects.filter(pk__in=[c.pk for c in small + large]).values_list("public_id", "state"))
    assert [states[c.public_id] for c in large] == [S.DISPATCHED, S.REGISTERED, S.DISPATCHED] * 2 + [
        S.DISPATCHED, S.REGISTERED, S.REGISTERED]
    assert not Case.objects.filter(awaiting_classifier=True).exists()
    assert Message.objects.filter(template="hotline.dispatched").count() == 7
    assert Message.objects.filter(template="hotline.accepted").count() == 7


def test_labels_are_codes_or_top_level_names(city):
    assert category_for_label("urban.roads") == city.potholes
    assert category_for_label("城市管理") == city.roads  # a top-level category's name (shared-data models)
    assert category_for_label("道路破损") is None  # second-level names are not labels
    assert category_for_label("环境保护") is None


def test_retrain_from_history_adds_a_new_active_version(city, model):
    first = ClassifierVersion.objects.get()
    assert first.is_active and (Path(django_settings.VAR_DIR) / first.file).is_file()
    assert versions.active_model().version_id == first.pk
    texts, labels = examples(n_per_label=12, seed=11)
    for text, label in zip(texts, labels, strict=True):
        case = register(city, text=text)
        # closed with its final category (a dispatcher's correction included)
        Case.objects.filter(pk=case.pk).update(state=S.CLOSED, closed_at=case.created_at,
                                               category=city.potholes if label == "urban.roads" else city.water)
    assert versions.classifier_train_from_history(min_new=len(texts) + 1) is None  # not enough new ones
    assert ClassifierVersion.objects.count() == 1
    second = versions.classifier_train_from_history(min_new=len(texts))
    assert (second.source, second.n_train, second.labels) == ("history", 24, ["urban.roads", "utility.water"])
    assert list(ClassifierVersion.objects.filter(is_active=True)) == [second]
    first.refresh_from_db()
    assert not first.is_active
    assert versions.active_model().version_id == second.pk  # the process reloads the new version


def test_a_reused_primary_key_never_serves_the_previous_model(city, model):
    """Rolled-back rows give their primary key to the next version (SQLite reuses it): the
    process cache tells versions apart by their file, which every training run makes new."""
    first = ClassifierVersion.objects.get()
    cached = versions.active_model()
    assert cached.file == first.file
    texts, labels = examples(n_per_label=12, seed=5)
    second = versions.classifier_version_create(texts=texts, labels=labels, source="csv")
    assert second.file != first.file
    # the first row now points at the second run's file under the first row's primary key
    ClassifierVersion.objects.filter(pk=second.pk).delete()
    ClassifierVersion.objects.filter(pk=first.pk).update(is_active=True, file=second.file)
    reloaded = versions.active_model()
    assert (reloaded.version_id, reloaded.file) == (first.pk, second.file)
    assert reloaded.model is not cached.model


def _csv(path: Path, rows) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "category"])
        writer.writerows(rows)
    return path


def run(*args) -> dict:
    out = io.StringIO()
    call_command("hotline", *args, stdout=out)
    lines = out.getvalue().splitlines()
    assert len(lines) == 1
    return json.loads(lines[0])


def test_train_and_evaluate_commands(city, tmp_path):
    texts, labels = examples(seed=3)
    train = _csv(tmp_path / "train.csv", zip(texts, labels, strict=True))
    test_texts, test_labels = examples(n_per_label=8, seed=4)
    test = _csv(tmp_path / "test.csv", zip(test_texts, test_labels, strict=True))
    result = run("evaluate", "--train", str(train), "--test", str(test))
    assert set(result) == {"accuracy", "macro_f1", "n_train", "n_test"}
    assert (result["n_train"], result["n_test"]) == (48, 16)
    assert result["accuracy"] >= 0.9 and result["macro_f1"] >= 0.9
    assert ClassifierVersion.objects.count() == 0  # evaluating stores nothing

    trained = run("train", "--csv", str(train))
    assert (trained["source"], trained["n_train"], trained["labels"], trained["active"]) == ("csv", 48, 2, True)
    assert ClassifierVersion.objects.get(is_active=True).version == trained["version"]

    with pytest.raises(CommandError):
        run("train", "--csv", str(tmp_path / "missing.csv"))
    bad = tmp_path / "bad.csv"
    bad.write_text("message,label\n路面塌陷,urban.roads\n", encoding="utf-8")
    with pytest.raises(CommandError):
        run("evaluate", "--train", str(bad), "--test", str(test))
    assert ClassifierVersion.objects.count() == 1


def test_retrain_command_reports_when_nothing_new(city, model):
    assert run("retrain", "--min-new", "1") == {"trained": False}
    assert ClassifierVersion.objects.count() == 1


def test_weekly_job_retrains_only_with_enough_new_labelled_cases(city, model, settings):
    from onecity.hotline.tasks import classifier_retrain_task

    texts, labels = examples(n_per_label=12, seed=5)
    for text, label in zip(texts, labels, strict=True):
        case = register(city, text=text)
        Case.objects.filter(pk=case.pk).update(state=S.CLOSED, closed_at=case.created_at,
                                               category=city.potholes if label == "urban.roads" else city.water)
    settings.HOTLINE_RETRAIN_MIN_NEW = 25
    assert classifier_retrain_task.call_local() == ""
    assert ClassifierVersion.objects.count() == 1
    settings.HOTLINE_RETRAIN_MIN_NEW = 24
    version = classifier_retrain_task.call_local()
    assert ClassifierVersion.objects.get(is_active=True).version == version
    assert ClassifierVersion.objects.count() == 2
