"""Deadlines on the working-day calendar: holidays, make-up days, hour limits, the overall clock
that never restarts, per-state clocks that do, and extensions that move the handling deadline."""

from __future__ import annotations

import pytest

from onecity.core.errors import ApplicationError
from onecity.hotline.deadlines import DEFAULT_LIMITS, TimeLimit, time_limit_for
from onecity.hotline.enums import CaseState, ExtensionState, TimeUnit, Urgency
from onecity.hotline.models import Case, CaseEvent, Category, TimeLimitRule
from onecity.hotline.services import cases as svc
from onecity.hotline.services import extensions
from onecity.hotline.tests.support import advance, at, eod, pending_extension, register

pytestmark = pytest.mark.django_db
S = CaseState


def test_seeded_default_rules_match_the_built_in_defaults(city):
    for urgency, limit in DEFAULT_LIMITS.items():
        rule = TimeLimitRule.objects.get(category__isnull=True, urgency=urgency)
        assert TimeLimit(rule.sign_within, rule.sign_unit, rule.handle_within, rule.handle_unit) == limit


def test_rule_lookup_most_specific_first(city):
    complex_ = Category.objects.create(code="urban.demolition", name="违法建设", parent=city.roads)
    TimeLimitRule.objects.create(category=city.roads, urgency=Urgency.NORMAL, sign_within=2,
                                 sign_unit=TimeUnit.WORKING_DAYS, handle_within=15, handle_unit=TimeUnit.WORKING_DAYS)
    assert time_limit_for(category_id=complex_.pk, urgency=Urgency.NORMAL) == TimeLimit(2, "working_days", 15,
                                                                                        "working_days")
    assert time_limit_for(category_id=city.water.pk, urgency=Urgency.NORMAL) == TimeLimit(2, "hours", 24, "hours")
    assert time_limit_for(category_id=city.water.pk, urgency=Urgency.URGENT) == TimeLimit(1, "hours", 2, "hours")
    assert time_limit_for(category_id=None, urgency=Urgency.NORMAL) == TimeLimit(1, "working_days", 5,
                                                                                 "working_days")
    TimeLimitRule.objects.all().delete()
    assert time_limit_for(category_id=None, urgency=Urgency.NORMAL) == DEFAULT_LIMITS[Urgency.NORMAL]


def test_accepted_on_30_september_2026_across_national_day(city, clock):
    clock.set(at(2026, 9, 30, 16))
    case = svc.case_accept(actor=city.operator, case_id=register(city).public_id, category_code="urban.roads")
    # sign 1 working day → Thu 8 Oct; then 5 working days → Fri 9, Sat 10 (make-up), Mon 12, Tue 13, Wed 14
    assert case.due_at == eod(2026, 10, 14)
    assert case.accepted_at == at(2026, 9, 30, 16)
    case = svc.case_dispatch(actor=city.dispatcher, case_id=case.public_id, unit=city.unit)
    assert case.sign_due_at == eod(2026, 10, 8)
    clock.set(at(2026, 9, 30, 17))
    case = svc.case_sign(actor=city.handler, case_id=case.public_id)
    # 5 working days after 30 Sep: Thu 8, Fri 9, Sat 10 (make-up workday), Mon 12, Tue 13
    assert case.handle_due_at == eod(2026, 10, 13)


def test_accepted_before_spring_festival_2026(city, clock):
    clock.set(at(2026, 2, 12, 9))
    case = advance(city, register(city), S.SIGNED)
    # sign by Fri 13 Feb; handle: Fri 13, Sat 14 (make-up), [15-23 break], Tue 24, Wed 25, Thu 26
    assert case.sign_due_at == eod(2026, 2, 13)
    assert case.handle_due_at == eod(2026, 2, 26)
    # overall: 1 working day (13 Feb) then 5: Sat 14, Tue 24, Wed 25, Thu 26, Fri 27
    assert case.due_at == eod(2026, 2, 27)


def test_hour_limits_run_through_holidays(city, clock):
    clock.set(at(2026, 10, 1, 20))
    case = advance(city, register(city, category=city.water), S.SIGNED, category=city.water)
    assert case.sign_due_at == at(2026, 10, 1, 22)
    assert case.handle_due_at == at(2026, 10, 2, 20)
    assert case.due_at == at(2026, 10, 2, 22)
    urgent = register(city)
    urgent = svc.case_accept(actor=city.operator, case_id=urgent.public_id, urgency=Urgency.URGENT,
                             category_code="urban.roads")
    assert urgent.due_at == at(2026, 10, 1, 23)


def test_overall_clock_never_restarts_but_per_state_clocks_do(city, clock):
    clock.set(at(2026, 11, 23, 10))  # Monday
    case = advance(city, register(city), S.DISPATCHED)
    due, entered = case.due_at, case.state_entered_at
    assert (due, case.sign_due_at) == (eod(2026, 12, 1), eod(2026, 11, 24))
    clock.set(at(2026, 11, 24, 9))
    case = svc.case_return(actor=city.handler, case_id=case.public_id, reason="非本单位职责")
    clock.set(at(2026, 11, 25, 9))
    case = svc.case_dispatch(actor=city.dispatcher, case_id=case.public_id, unit=city.other_unit)
    assert case.due_at == due  # overall: unchanged by return and re-dispatch
    assert case.sign_due_at == eod(2026, 11, 26)  # the new unit's own sign clock
    assert case.state_entered_at == at(2026, 11, 25, 9) != entered
    clock.set(at(2026, 11, 26, 9))
    case = svc.case_sign(actor=city.other_handler, case_id=case.public_id)
    assert case.handle_due_at == eod(2026, 12, 3)
    case = svc.case_reply(actor=city.other_handler, case_id=case.public_id, reply="已处理")
    case = svc.case_visit(actor=city.operator, case_id=case.public_id, satisfaction="not_satisfied")
    clock.set(at(2026, 12, 7, 9))
    case = svc.case_redo(actor=city.supervisor, case_id=case.public_id, reason="未彻底解决")
    assert (case.state, case.redo_count, case.satisfaction) == (S.IN_PROGRESS, 1, "")
    assert case.handle_due_at == eod(2026, 12, 14)  # handling clock restarted
    assert case.due_at == due  # overall still the first promise


def test_extension_moves_the_handling_deadline_once(city, clock):
    clock.set(at(2026, 9, 28, 10))  # Monday
    case = advance(city, register(city), S.IN_PROGRESS)
    assert case.handle_due_at == eod(2026, 10, 10)  # Tue 29, Wed 30, [break], Thu 8, Fri 9, Sat 10 (make-up)
    assert case.due_at == eod(2026, 10, 12)  # sign by Tue 29, then Wed 30, Thu 8, Fri 9, Sat 10, Mon 12
    request = pending_extension(city, case)
    with pytest.raises(ApplicationError) as caught:
        pending_extension(city, case)
    assert caught.value.code == "extension_pending"
    request = extensions.case_extension_approve(actor=city.dispatcher, request_id=request.public_id, note="同意")
    case.refresh_from_db()
    # + 3 working days from Sat 10 Oct: Mon 12, Tue 13, Wed 14; the overall deadline follows
    assert (request.state, request.handle_due_before, request.handle_due_after) == (
        ExtensionState.APPROVED, eod(2026, 10, 10), eod(2026, 10, 14))
    assert (case.handle_due_at, case.due_at, case.extended_days) == (eod(2026, 10, 14), eod(2026, 10, 14), 3)
    with pytest.raises(ApplicationError) as caught:
        extensions.case_extension_approve(actor=city.dispatcher, request_id=request.public_id)
    assert caught.value.code == "extension_decided"
    case.refresh_from_db()
    assert (case.handle_due_at, case.extended_days) == (eod(2026, 10, 14), 3)
    assert CaseEvent.objects.filter(case=case, action="extension_approve").count() == 1


def test_refused_extension_keeps_the_deadline(city, clock):
    case = advance(city, register(city), S.SIGNED)
    due = case.handle_due_at
    request = extensions.case_extension_refuse(actor=city.dispatcher, request_id=pending_extension(city, case).public_id,
                                               note="可在时限内完成")
    assert request.state == ExtensionState.REFUSED
    assert Case.objects.get(pk=case.pk).handle_due_at == due
    with pytest.raises(ApplicationError) as caught:
        extensions.case_extension_request(actor=city.handler, case_id=case.public_id, days=99, reason="x")
    assert (caught.value.code, caught.value.field) == ("extension_days", "days")
