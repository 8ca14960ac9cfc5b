"""The population-registry adapter: protocol, demo registry answers, settings-driven loading."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from onecity.core.crypto import lookup_hash
from onecity.identity.models import DemoResident
from onecity.identity.registry import (
    DemoPopulationRegistry,
    PopulationRegistry,
    RegistryMatch,
    demo_resident_add,
    get_registry,
    normalise_legal_name,
)
from onecity.identity.tests.accounts_support import ID_LIN, ID_WANG

pytestmark = pytest.mark.django_db


def test_get_registry_loads_the_configured_adapter(settings):
    registry = get_registry()
    assert isinstance(registry, DemoPopulationRegistry)
    assert isinstance(registry, PopulationRegistry)
    assert registry.name == "demo"

    class FixedRegistry:
        name = "fixed"

        def match(self, *, legal_name, id_number):
            return RegistryMatch(matched=legal_name == "甲", reason="" if legal_name == "甲" else "not_found")

    import sys
    import types

    module = types.ModuleType("onecity_test_registry")
    module.FixedRegistry = FixedRegistry
    sys.modules["onecity_test_registry"] = module
    try:
        settings.POPULATION_REGISTRY = "onecity_test_registry.FixedRegistry"
        assert get_registry().match(legal_name="甲", id_number=ID_LIN) == RegistryMatch(matched=True, reason="")
    finally:
        del sys.modules["onecity_test_registry"]


def test_demo_registry_answers():
    demo_resident_add(legal_name="林则峰", id_number=ID_LIN)
    demo_resident_add(legal_name="王秀英", id_number=ID_WANG, is_deceased=True)
    registry = DemoPopulationRegistry()
    assert registry.match(legal_name="林则峰", id_number=ID_LIN) == RegistryMatch(matched=True, reason="")
    assert registry.match(legal_name=" 林 则峰 ", id_number=ID_LIN.lower()) == RegistryMatch(True, "")
    assert registry.match(legal_name="林则徐", id_number=ID_LIN) == RegistryMatch(False, "name_mismatch")
    assert registry.match(legal_name="林则峰", id_number="350102199001011254") == RegistryMatch(False, "not_found")
    assert registry.match(legal_name="王秀英", id_number=ID_WANG) == RegistryMatch(False, "deceased")
    assert registry.match(legal_name="王秀英", id_number="11010519491231002x") == RegistryMatch(False, "deceased")


def test_demo_resident_is_stored_encrypted_and_hashed():
    resident = demo_resident_add(legal_name="买买提·艾力", id_number=ID_WANG.lower())
    assert resident.id_number == ID_WANG
    assert resident.id_number_hash == lookup_hash(ID_WANG, purpose="id_number")
    assert resident.region_code == "110105"
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT legal_name, id_number FROM identity_demoresident WHERE id = %s", [resident.pk])
        raw_name, raw_number = cursor.fetchone()
    assert "买买提" not in raw_name
    assert ID_WANG not in raw_number
    with pytest.raises(ValidationError):
        demo_resident_add(legal_name="错号", id_number="110105194912310021")
    assert DemoResident.objects.count() == 1


def test_name_normalisation_of_middle_dots_and_spaces():
    assert normalise_legal_name(" 买买提・艾力 ") == "买买提·艾力"
    assert normalise_legal_name("买买提•艾力") == "买买提·艾力"
    assert normalise_legal_name("欧阳 娜娜") == "欧阳娜娜"
    registry = DemoPopulationRegistry()
    demo_resident_add(legal_name="买买提·艾力", id_number=ID_WANG)
    assert registry.match(legal_name="买买提・艾力", id_number=ID_WANG).matched is True
