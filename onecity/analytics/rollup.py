"""Folding the hotline's fact groups into read-model rows (pure; decision 0011).

Each `CaseStatGroup` (one day, unit, sub-unit, district, category, channel) adds its measures to
one row per scope it belongs to (the city, its first-level unit, its sub-unit) and per
dimension key (all, department, district, category, channel). The services store the result;
the live computation of the selectors uses the same fold. `fold_payments` does the same for the
payments app's desensitised facts (decision 0018).
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Iterable

from onecity.analytics.models import CITY, Dimension
from onecity.hotline.selectors.stats import CaseStatGroup
from onecity.payments.selectors import PaymentFact

Key = tuple[int, str, dt.date, str]  # (scope, dimension, day, key)


def group_targets(group: CaseStatGroup) -> list[tuple[int, str, str]]:
    """(scope, dimension, key) of every row a group adds to."""
    scopes = [CITY]
    if group.unit_id:
        scopes.append(group.unit_id)
    if group.subunit_id and group.subunit_id != group.unit_id:
        scopes.append(group.subunit_id)
    keys = ((Dimension.ALL.value, ""), (Dimension.DEPARTMENT.value, str(group.unit_id or 0)),
            (Dimension.DISTRICT.value, str(group.district_id)), (Dimension.CATEGORY.value, str(group.category_id or 0)),
            (Dimension.CHANNEL.value, group.channel))
    return [(scope, dimension, key) for scope in scopes for dimension, key in keys]


def fold(groups: Iterable[CaseStatGroup]) -> dict[Key, list[int]]:
    """Add the groups up into read-model rows: (scope, dimension, day, key) → measures."""
    rows: dict[Key, list[int]] = {}
    add = operator.add
    for group in groups:
        measures = group.measures()
        for scope, dimension, key in group_targets(group):
            target = (scope, dimension, group.day, key)
            known = rows.get(target)
            rows[target] = list(measures) if known is None else list(map(add, known, measures))
    return rows


# --- 福码 payments (decision 0018) ---------------------------------------------------------------
PaymentKey = tuple[dt.date, int, str, str, str]  # (day, hour, scenario, district, channel)
#: the measures of a PaymentHourlyStat row, in this order
PAYMENT_MEASURES = ("payments", "amount_fen", "refunded_fen")


def fold_payments(facts: Iterable[PaymentFact]) -> dict[PaymentKey, list[int]]:
    """Add the payments up per (day, hour, scenario, district, channel): count, amount, refunded.
    The payee of each fact is dropped here: the read model never holds it."""
    rows: dict[PaymentKey, list[int]] = {}
    for fact in facts:
        key = (fact.day, fact.hour, fact.scenario, fact.district_code, fact.channel)
        known = rows.get(key)
        if known is None:
            rows[key] = [1, fact.amount_fen, fact.refunded_fen]
        else:
            known[0] += 1
            known[1] += fact.amount_fen
            known[2] += fact.refunded_fen
    return rows
