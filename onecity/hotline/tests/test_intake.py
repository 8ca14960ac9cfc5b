"""Intake: validation with clear errors, encrypted contact details, tracking numbers that are
unique under real concurrency (PostgreSQL, parallel connections)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from onecity.core.crypto import lookup_hash
from onecity.core.errors import ApplicationError, PermissionDenied
from onecity.hotline.enums import CaseState, Channel, Urgency
from onecity.hotline.models import Case, CaseEvent, TrackingCounter
from onecity.hotline.services.intake import case_register, tracking_number_next
from onecity.hotline.tests.support import at, register

S = CaseState


@pytest.mark.django_db
def test_resident_files_a_request(city, clock):
    clock.set(at(2026, 11, 23, 9, 30))
    case = register(city, latitude="26.0822", longitude="119.2965", contact_phone="+86 139-0013-9000",
                    contact_name="林先生")
    assert case.tracking_number == "FZ12345-20261123-000001"
    assert (case.state, case.channel, case.reporter, case.registered_by) == (
        S.REGISTERED, Channel.APP, city.resident, city.resident)
    assert case.title == "鼓楼区五四路与湖东路交叉口有一个大坑，电动车经过很危险。"  # short: the whole first line
    long_text = "福州市鼓楼区东街口附近的人行道上长期停放大量共享单车，严重影响行人通行，希望有关部门尽快清理。"
    assert register(city, text=long_text).title == long_text[:29] + "…"
    assert (str(case.latitude), str(case.longitude)) == ("26.082200", "119.296500")
    assert case.urgency == Urgency.NORMAL
    with connection.cursor() as cursor:
        cursor.execute("SELECT contact_phone, contact_name FROM hotline_case WHERE id = %s", [case.pk])
        stored_phone, stored_name = cursor.fetchone()
    assert "13900139000" not in stored_phone and stored_phone.startswith("gAAAAA")
    assert "林" not in stored_name and stored_name.startswith("gAAAAA")
    assert case.contact_phone_hash == lookup_hash("13900139000", purpose="phone")
    assert Case.objects.get(pk=case.pk).contact_phone == "13900139000"
    assert list(CaseEvent.objects.filter(case=case).values_list("action", "to_state")) == [("register", "registered")]
    assert register(city).tracking_number == "FZ12345-20261123-000003"
    clock.set(at(2026, 11, 24, 0, 0))
    assert register(city).tracking_number == "FZ12345-20261124-000001"


@pytest.mark.django_db
def test_operator_records_a_phone_call_anonymously(city, clock):
    case = register(city, actor=city.operator, anonymous=True, contact_name="匿名", reporter=city.other_resident)
    assert (case.channel, case.reporter, case.registered_by, case.anonymous, case.contact_name) == (
        Channel.PHONE, city.other_resident, city.operator, True, "")


@pytest.mark.django_db
@pytest.mark.parametrize(("changes", "code", "field"), [
    ({"text": "  "}, "text_required", "text"),
    ({"text": "坑"}, "text_short", "text"),
    ({"text": "坑" * 2001}, "text_length", "text"),
    ({"address": ""}, "address_required", "address"),
    ({"district": None}, "district_required", "district"),
    ({"latitude": "26.1"}, "coordinates_invalid", "latitude"),
    ({"latitude": "91", "longitude": "119"}, "coordinates_invalid", "latitude"),
    ({"latitude": "abc", "longitude": "119"}, "coordinates_invalid", "latitude"),
    ({"contact_phone": "12345"}, "phone_format", "contact_phone"),
    ({"channel": Channel.PHONE}, "channel_invalid", "channel"),
    ({"urgency": "whenever"}, "urgency_invalid", "urgency"),
])
def test_invalid_intake_changes_nothing(city, clock, changes, code, field):
    with pytest.raises(ApplicationError) as caught:
        register(city, **changes)
    assert (caught.value.code, caught.value.field) == (code, field)
    assert str(caught.value.message)
    assert (Case.objects.count(), CaseEvent.objects.count(), TrackingCounter.objects.count()) == (0, 0, 0)


@pytest.mark.django_db
def test_intake_rules_for_actors(city, clock):
    with pytest.raises(ApplicationError) as caught:
        register(city, district=city.unit)  # a department is not a district
    assert caught.value.code == "district_required"
    with pytest.raises(ApplicationError) as caught:
        register(city, actor=city.operator, contact_phone="")  # no way to answer
    assert caught.value.code == "contact_required"
    with pytest.raises(PermissionDenied):
        register(city, reporter=city.other_resident)  # residents file for themselves
    with pytest.raises(PermissionDenied):
        register(city, actor=city.handler)
    with pytest.raises(ApplicationError) as caught:
        register(city, actor=city.operator, reporter=city.handler)
    assert caught.value.code == "reporter_invalid"
    assert Case.objects.count() == 0
    system = case_register(actor=None, channel=Channel.OPEN311, text="路灯不亮已经三天了", district=city.district,
                           address="杨桥路", contact_phone="13700137000")
    assert (system.registered_by, system.channel) == (None, Channel.OPEN311)


@pytest.mark.django_db(transaction=True)
def test_tracking_numbers_unique_under_parallel_connections(city, clock):
    if connection.vendor != "postgresql":
        pytest.skip("real parallel writers need PostgreSQL (SQLite serialises every write)")
    workers, per_worker = 8, 5
    numbers: list[str] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(workers)
    lock = threading.Lock()

    def work():
        try:
            barrier.wait()
            for _ in range(per_worker):
                case = register(city)
                with lock:
                    numbers.append(case.tracking_number)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    total = workers * per_worker
    assert sorted(numbers) == [f"FZ12345-20261123-{n:06d}" for n in range(1, total + 1)]
    assert Case.objects.count() == total
    assert TrackingCounter.objects.get().last == total


@pytest.mark.django_db(transaction=True)
def test_first_number_of_the_day_race_on_the_counter_row(clock):
    if connection.vendor != "postgresql":
        pytest.skip("real parallel writers need PostgreSQL")
    from django.db import transaction

    numbers, barrier, lock = [], threading.Barrier(6), threading.Lock()

    def work():
        try:
            barrier.wait()
            with transaction.atomic():
                number = tracking_number_next()
            with lock:
                numbers.append(number)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(numbers) == [f"FZ12345-20261123-{n:06d}" for n in range(1, 7)]
