"""Folding the hotline's fact groups into read-model rows (pure; decision 0011).

Each `CaseStatGroup` (one day, unit, sub-unit, district, category, channel) adds its measures to
one row per scope it belongs to (the city, its first-level unit, its sub-unit) and per
dimension key (all, department, district, category, channel). The services store the result;
the live computation of the selectors uses the same fold.
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Iterable

from onecity.analytics.models import CITY, Dimension
from onecity.hotline.selectors import CaseStatGroup

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
