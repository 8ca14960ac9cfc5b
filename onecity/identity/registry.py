"""Population registry adapters: is this legal name the holder of this resident ID number?

Real-name verification (实名认证) asks the population registry (人口库) whether a legal name and
a resident ID number belong together. The adapter is pluggable: `settings.POPULATION_REGISTRY`
holds the dotted path of a class implementing `PopulationRegistry`; `get_registry()` returns an
instance. The demo adapter answers from the `DemoResident` table; a city plugs in its
registry gateway (usually an HTTPS service on the government intranet) the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from django.conf import settings
from django.utils.module_loading import import_string

from onecity.core.crypto import lookup_hash

REASON_MATCHED = ""
REASON_NOT_FOUND = "not_found"
REASON_NAME_MISMATCH = "name_mismatch"
REASON_DECEASED = "deceased"


@dataclass(frozen=True)
class RegistryMatch:
    """The registry's answer. `reason` is empty when matched, otherwise one of
    "not_found", "name_mismatch", "deceased"."""

    matched: bool
    reason: str = REASON_MATCHED


@runtime_checkable
class PopulationRegistry(Protocol):
    #: short name stored on RealNameIdentity.registry
    name: str

    def match(self, *, legal_name: str, id_number: str) -> RegistryMatch: ...


def normalise_legal_name(value: str) -> str:
    """Names compare without surrounding or inner spaces; the middle dot of minority and
    transliterated names has several code points in the wild (· ・ • ‧), all the same here."""
    value = "".join((value or "").split())
    for dot in ("・", "•", "‧", "∙", "⋅", "．"):
        value = value.replace(dot, "·")
    return value


class DemoPopulationRegistry:
    """The demo city's registry: residents seeded into the DemoResident table."""

    name = "demo"

    def match(self, *, legal_name: str, id_number: str) -> RegistryMatch:
        from onecity.identity.models import DemoResident

        number = (id_number or "").strip().upper()
        resident = DemoResident.objects.filter(id_number_hash=lookup_hash(number, purpose="id_number")).first()
        if resident is None:
            return RegistryMatch(matched=False, reason=REASON_NOT_FOUND)
        if normalise_legal_name(resident.legal_name) != normalise_legal_name(legal_name):
            return RegistryMatch(matched=False, reason=REASON_NAME_MISMATCH)
        if resident.is_deceased:
            return RegistryMatch(matched=False, reason=REASON_DECEASED)
        return RegistryMatch(matched=True)


def get_registry() -> PopulationRegistry:
    """An instance of the adapter named by settings.POPULATION_REGISTRY."""
    return import_string(settings.POPULATION_REGISTRY)()


def demo_resident_add(*, legal_name: str, id_number: str, is_deceased: bool = False):
    """Add a resident to the demo registry (demo seeding and tests). Validates the ID number."""
    from onecity.core.validators import parse_resident_id
    from onecity.identity.models import DemoResident

    info = parse_resident_id(id_number)
    return DemoResident.objects.create(
        legal_name=normalise_legal_name(legal_name),
        id_number=info.number,
        id_number_hash=lookup_hash(info.number, purpose="id_number"),
        region_code=info.region_code,
        is_deceased=is_deceased,
    )
