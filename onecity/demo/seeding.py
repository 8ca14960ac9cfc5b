"""Load the demo city of Fuzhou into the database.

`demo_city_seed()` runs the steps below in order. Every step is idempotent: it finds what an
earlier run created (organizations by unified social credit code, residents by the keyed hash
of their ID number, citizens by the keyed hash of their phone number, staff by user name,
partner apps by client name) and creates only what is missing, so running it twice changes
nothing. All random choices come from fixed seeds, so every machine gets the same city.

1. organizations: city departments (市直部门) with their sub-units, the 13 district and
   county governments with their bureaus and streets/towns (街道/乡镇), payee units
   (schools, hospitals, transit, utilities). Each gets a valid unified social credit code.
2. residents: the demo population registry (DemoResident) the real-name check asks.
3. citizens: registered citizen accounts; most are verified through `realname_verify`.
4. staff: one account per role, created with `staff_create`.
5. partner apps: OIDC clients of the province's apps and one local client for trying SSO.
6. the 12345 hotline: categories, dispatch matrix, knowledge base, a year of requests in every
   state and the dispatch classifier trained on them (onecity/demo/hotline/loader.py).
7. the 12345 statistics: the analytics read model rebuilt from that history, so the
   dashboard has figures at once (the worker refreshes it afterwards).

Data files live in `onecity/demo/data/`. The demo password of every account is
DEMO_PASSWORD; it is hashed once and the hash is shared by the demo citizens (hashing a
password takes a deliberate fraction of a second).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from onecity.core.audit import audit_record
from onecity.core.crypto import lookup_hash
from onecity.core.ids import new_public_id
from onecity.core.validators import parse_resident_id, resident_id_make, uscc_make, validate_uscc
from onecity.identity.enums import OrganizationKind, Role, UserKind
from onecity.identity.models import DemoResident, Organization, RealNameIdentity, User
from onecity.identity.registry import normalise_legal_name
from onecity.identity.services.accounts import CITIZEN_USERNAME_PREFIX, realname_verify, staff_create

DATA_DIR = Path(__file__).resolve().parent / "data"
CITY_REGION_CODE = "350100"  # 福州市
DEMO_PASSWORD = "Demo@2026"
RANDOM_SEED = 20260101


@dataclass(frozen=True)
class DemoCitizen:
    phone: str
    legal_name: str
    id_number: str
    display_name: str


#: THE demo citizen: male, born 1990-01-01, registered in 鼓楼区.
DEMO_CITIZEN = DemoCitizen(phone="13800138000", legal_name="林志远", id_number="350102199001011238",
                           display_name="林志远")


@dataclass(frozen=True)
class StaffAccount:
    username: str
    role: str
    organization: str  # Organization.name
    display_name: str
    try_this: str  # what to try with this account (shown by `onecity demo`)


STAFF_ACCOUNTS: tuple[StaffAccount, ...] = (
    StaffAccount("operator", Role.HOTLINE_OPERATOR, "福州市12345便民服务平台", "陈晓燕",
                 "Find a caller in People, unmask with a reason (audited)"),
    StaffAccount("dispatcher", Role.DISPATCHER, "福州市12345便民服务平台", "郑国强",
                 "Staff console; verify an identity code"),
    StaffAccount("handler", Role.DEPARTMENT_HANDLER, "鼓楼区城市管理局", "黄建华",
                 "Staff console; verify an identity code"),
    StaffAccount("supervisor", Role.SUPERVISOR, "福州市人民政府办公厅", "王丽萍",
                 "People search; staff console"),
    StaffAccount("reviewer", Role.APPLICATION_REVIEWER, "福州市行政服务中心管理委员会", "林秀珍",
                 "Verify a resident's identity code; People search"),
    StaffAccount("cashier", Role.PAYEE_CASHIER, "福州第一中学", "吴美玲",
                 "Verify an identity code at the school gate"),
    StaffAccount("cashier2", Role.PAYEE_CASHIER, "福州第一中学", "陈佳慧",
                 "Approve the refund the other cashier asked for (payee console → Refunds)"),
    StaffAccount("finance", Role.FINANCE, "福州市财政局", "林海燕",
                 "福码 reconciliation: approve the WeChat fee adjustment finance2 proposed; settlements"),
    StaffAccount("finance2", Role.FINANCE, "福州市财政局", "郭志强",
                 "Propose an adjustment of a reconciliation break (finance approves it)"),
    StaffAccount("auditor", Role.AUDITOR, "福州市审计局", "刘志明", "The audit trail: who saw whose data, and why"),
    StaffAccount("admin", Role.ADMINISTRATOR, "福州市数据管理局", "张建新",
                 "People, audit trail, Django admin at /admin/"),
)

#: Where the local demo OIDC client's credentials are kept (the secret is stored hashed).
LOCAL_CLIENT_NAME = "OneCity 本地演示应用"


def local_client_file() -> Path:
    return Path(settings.VAR_DIR) / "demo" / "oidc-local-client.json"


@dataclass(frozen=True)
class SeedSize:
    residents: int
    citizens: int
    verified_share: float = 0.85
    hotline_cases: int = 2200
    bills_per_payee: int = 60


FULL = SeedSize(residents=2000, citizens=300)
SMALL = SeedSize(residents=150, citizens=25, hotline_cases=160, bills_per_payee=8)


@dataclass
class SeedReport:
    organizations: int = 0
    residents: int = 0
    citizens: int = 0
    verified: int = 0
    staff: int = 0
    clients: int = 0
    credentials: list = field(default_factory=list)  # ClientCredentials created in this run
    hotline: object = None  # onecity.demo.hotline.loader.HotlineReport

    @property
    def created_anything(self) -> bool:
        return any((self.organizations, self.residents, self.citizens, self.verified, self.staff, self.clients,
                    self.hotline is not None and self.hotline.created_anything))


class Progress:
    """Receives progress from the seeding steps; the `seed` command draws it with rich."""

    def start(self, key: str, label: str, total: int) -> None:
        pass

    def advance(self, key: str, amount: int = 1) -> None:
        pass


# --- data files --------------------------------------------------------------------------------
@cache
def load(name: str):
    with (DATA_DIR / name).open(encoding="utf-8") as handle:
        return json.load(handle)


@dataclass(frozen=True)
class OrgSpec:
    name: str
    name_en: str
    short_name: str
    kind: str
    region_code: str
    authority: str  # USCC registration authority + type: 11 government, 12 institution, 91 company
    payee_type: str = ""
    parent: str = ""  # parent's name

    @property
    def uscc(self) -> str:
        return _uscc_for(self.name, self.authority, self.region_code)


def _uscc_for(name: str, authority: str, region_code: str) -> str:
    """A deterministic, valid unified social credit code for a demo organization: the
    organization-code body comes from a hash of the name."""
    digest = hashlib.sha256(f"onecity-demo-uscc:{name}".encode()).hexdigest()
    body = f"{int(digest[:15], 16) % 100_000_000:08d}"
    return uscc_make(authority, region_code, body)


def organization_specs() -> list[OrgSpec]:
    """Every demo organization, parents before children."""
    specs: list[OrgSpec] = []
    for dept in load("departments.json"):
        specs.append(OrgSpec(dept["name"], dept["name_en"], dept["short_name"], OrganizationKind.DEPARTMENT,
                             CITY_REGION_CODE, dept["authority"]))
    for district in load("districts.json"):
        specs.append(OrgSpec(district["name"], district["name_en"], district["short_name"],
                             OrganizationKind.DISTRICT, district["region_code"], "11"))
    for payee in load("payees.json"):
        specs.append(OrgSpec(payee["name"], payee["name_en"], payee["short_name"], OrganizationKind.PAYEE,
                             payee["region_code"], payee["authority"], payee_type=payee["payee_type"]))
    for dept in load("departments.json"):
        for child in dept["children"]:
            specs.append(OrgSpec(child["name"], child["name_en"], child["short_name"], OrganizationKind.SUBUNIT,
                                 CITY_REGION_CODE, child["authority"], parent=dept["name"]))
    for district in load("districts.json"):
        for child in district["children"]:
            specs.append(OrgSpec(child["name"], child["name_en"], child["short_name"], OrganizationKind.SUBUNIT,
                                 district["region_code"], child["authority"], parent=district["name"]))
    return specs


# --- step 1: organizations ---------------------------------------------------------------------
@transaction.atomic
def organizations_seed(progress: Progress) -> int:
    specs = organization_specs()
    codes = [spec.uscc for spec in specs]
    if len(set(codes)) != len(codes) or len({s.name for s in specs}) != len(specs):
        raise RuntimeError("demo organization data has duplicate names or credit codes")
    progress.start("organizations", "Organizations", len(specs))
    existing = dict(Organization.objects.filter(uscc__in=codes).values_list("uscc", "pk"))
    created = 0
    for level in (False, True):  # parents first, then the units that hang under them
        batch = []
        for spec in specs:
            if bool(spec.parent) != level:
                continue
            if spec.uscc in existing:
                progress.advance("organizations")
                continue
            validate_uscc(spec.uscc)
            parent_id = existing[_uscc_for_name(specs, spec.parent)] if spec.parent else None
            batch.append(Organization(
                name=spec.name, name_en=spec.name_en, short_name=spec.short_name, kind=spec.kind,
                payee_type=spec.payee_type, region_code=spec.region_code, uscc=spec.uscc, parent_id=parent_id,
            ))
        Organization.objects.bulk_create(batch)
        created += len(batch)
        progress.advance("organizations", len(batch))
        existing = dict(Organization.objects.filter(uscc__in=codes).values_list("uscc", "pk"))
    return created


def _uscc_for_name(specs: Iterable[OrgSpec], name: str) -> str:
    for spec in specs:
        if spec.name == name:
            return spec.uscc
    raise KeyError(name)


# --- step 2: the population registry -----------------------------------------------------------
@dataclass(frozen=True)
class ResidentSpec:
    legal_name: str
    id_number: str
    region_code: str
    birth_date: dt.date
    sex: str
    is_deceased: bool = False


# Where Fuzhou residents are registered, weighted roughly by population (万人).
FUZHOU_REGIONS = {
    "350102": 69, "350103": 45, "350104": 82, "350111": 79, "350105": 24, "350112": 70, "350181": 136,
    "350121": 89, "350122": 59, "350123": 26, "350124": 24, "350125": 29, "350128": 39,
}
FUJIAN_REGIONS = ["350203", "350206", "350302", "350322", "350503", "350583", "350602", "350702", "350802",
                  "350902", "350981"]
OTHER_REGIONS = ["110105", "310115", "330106", "440305", "360102", "320106", "510107", "430104"]


def _given_era(birth: dt.date) -> str:
    if birth.year < 1965:
        return "old"
    if birth.year < 1988:
        return "mid"
    return "young"


def resident_specs(count: int) -> list[ResidentSpec]:
    """`count` residents of the demo registry, the demo citizen first. Deterministic."""
    rng = random.Random(RANDOM_SEED)
    names = load("names.json")
    surnames = list(names["surnames"])
    weights = list(names["surnames"].values())
    regions = list(FUZHOU_REGIONS)
    region_weights = list(FUZHOU_REGIONS.values())
    first_day = dt.date(1940, 1, 1).toordinal()
    last_day = dt.date(2008, 12, 31).toordinal()

    demo = parse_resident_id(DEMO_CITIZEN.id_number)
    residents = [ResidentSpec(DEMO_CITIZEN.legal_name, demo.number, demo.region_code, demo.birth_date, demo.sex)]
    seen = {demo.number}
    while len(residents) < count:
        roll = rng.random()
        if roll < 0.82:
            region = rng.choices(regions, region_weights)[0]
        elif roll < 0.95:
            region = rng.choice(FUJIAN_REGIONS)
        else:
            region = rng.choice(OTHER_REGIONS)
        birth = dt.date.fromordinal(rng.randint(first_day, last_day))
        sex = rng.choice("MF")
        order = rng.randrange(1 if sex == "M" else 2, 1000, 2)
        number = resident_id_make(region, birth, order)
        if number in seen:
            continue
        seen.add(number)
        surname = rng.choices(surnames, weights)[0]
        given = rng.choice(names["given"][_given_era(birth)][sex])
        deceased = birth.year < 1950 and rng.random() < 0.08
        residents.append(ResidentSpec(surname + given, number, region, birth, sex, deceased))
    return residents


@transaction.atomic
def residents_seed(residents: list[ResidentSpec], progress: Progress) -> int:
    progress.start("residents", "Population registry", len(residents))
    existing = set(DemoResident.objects.values_list("id_number_hash", flat=True))
    created = 0
    for start in range(0, len(residents), 500):
        chunk = residents[start:start + 500]
        batch = []
        for spec in chunk:
            id_hash = lookup_hash(spec.id_number, purpose="id_number")
            if id_hash not in existing:
                batch.append(DemoResident(legal_name=normalise_legal_name(spec.legal_name),
                                          id_number=spec.id_number, id_number_hash=id_hash,
                                          region_code=spec.region_code, is_deceased=spec.is_deceased))
        DemoResident.objects.bulk_create(batch)
        created += len(batch)
        progress.advance("residents", len(chunk))
    return created


# --- step 3: citizens --------------------------------------------------------------------------
PHONE_PREFIXES = ("133", "135", "136", "137", "139", "150", "151", "152", "158", "159", "177", "180",
                  "181", "186", "187", "188", "189", "191", "199")


@dataclass(frozen=True)
class CitizenSpec:
    phone: str
    display_name: str
    resident: ResidentSpec
    verify: bool
    joined_days_ago: int


def citizen_specs(residents: list[ResidentSpec], size: SeedSize) -> list[CitizenSpec]:
    """Registered citizens, the demo citizen first. Deterministic."""
    rng = random.Random(RANDOM_SEED + 1)
    citizens = [CitizenSpec(DEMO_CITIZEN.phone, DEMO_CITIZEN.display_name, residents[0], True, 400)]
    candidates = [r for r in residents[1:] if not r.is_deceased and r.birth_date.year <= 2008]
    chosen = rng.sample(candidates, min(size.citizens - 1, len(candidates)))
    phones = {DEMO_CITIZEN.phone}
    for resident in chosen:
        while True:
            phone = rng.choice(PHONE_PREFIXES) + f"{rng.randrange(100_000_000):08d}"
            if phone not in phones:
                phones.add(phone)
                break
        citizens.append(CitizenSpec(phone, resident.legal_name, resident, rng.random() < size.verified_share,
                                    rng.randrange(1, 720)))
    return citizens


def citizens_seed(citizens: list[CitizenSpec], progress: Progress) -> tuple[int, int]:
    """Create the citizen accounts that are missing, then verify the real names of those
    meant to be verified. Returns (accounts created, identities verified)."""
    progress.start("citizens", "Citizen accounts", len(citizens))
    progress.start("verified", "Real-name verification", sum(1 for c in citizens if c.verify))
    with transaction.atomic():
        hashes = {lookup_hash(c.phone, purpose="phone"): c for c in citizens}
        existing = set(User.objects.filter(phone_hash__in=list(hashes)).values_list("phone_hash", flat=True))
        password_hash = make_password(DEMO_PASSWORD)
        now = timezone.now()
        batch = []
        for phone_hash, spec in hashes.items():
            if phone_hash in existing:
                continue
            public_id = new_public_id()
            batch.append(User(
                public_id=public_id, username=CITIZEN_USERNAME_PREFIX + public_id, kind=UserKind.CITIZEN,
                display_name=spec.display_name, phone=spec.phone, phone_hash=phone_hash, password=password_hash,
                date_joined=now - dt.timedelta(days=spec.joined_days_ago),
            ))
        User.objects.bulk_create(batch, batch_size=200)
        progress.advance("citizens", len(citizens))

    verified = 0
    with transaction.atomic():
        users = {u.phone_hash: u for u in User.objects.filter(phone_hash__in=list(hashes))}
        done = set(RealNameIdentity.objects.filter(user__in=users.values()).values_list("user_id", flat=True))
        for phone_hash, spec in hashes.items():
            if not spec.verify:
                continue
            user = users[phone_hash]
            if user.pk not in done:
                realname_verify(user=user, legal_name=spec.resident.legal_name, id_number=spec.resident.id_number)
                verified += 1
            progress.advance("verified")
    return len(batch), verified


# --- step 4: staff -----------------------------------------------------------------------------
@transaction.atomic
def staff_seed(progress: Progress) -> int:
    progress.start("staff", "Staff accounts", len(STAFF_ACCOUNTS))
    existing = set(User.objects.filter(username__in=[a.username for a in STAFF_ACCOUNTS])
                   .values_list("username", flat=True))
    created = 0
    for account in STAFF_ACCOUNTS:
        if account.username not in existing:
            organization = Organization.objects.get(name=account.organization)
            staff_create(actor=None, username=account.username, password=DEMO_PASSWORD,
                         display_name=account.display_name, organization=organization, roles=[account.role])
            created += 1
        progress.advance("staff")
    return created


# --- step 5: partner apps (OIDC clients) -------------------------------------------------------
def local_client_redirect_uri() -> str:
    return "http://127.0.0.1:8765/callback"


def client_specs() -> list[dict]:
    clients = [dict(c) for c in load("oidc_clients.json")]
    clients.append({
        "name": LOCAL_CLIENT_NAME,
        "display_name_en": "OneCity local demo app",
        "purpose": "在本机体验一网通单点登录：授权后浏览器会跳转到本机回调地址，地址栏中带有授权码。",
        "purpose_en": "Try OneCity single sign-on on this machine: after you allow it, the browser goes to a "
                      "local callback address whose query string carries the authorization code.",
        "operator": "福州市数据管理局",
        "redirect_uris": [local_client_redirect_uri()],
        "post_logout_redirect_uris": ["http://127.0.0.1:8765/"],
    })
    return clients


@transaction.atomic
def clients_seed(progress: Progress) -> list:
    from oauth2_provider.models import get_application_model

    from onecity.identity.services.oidc import client_create

    specs = client_specs()
    progress.start("clients", "Partner apps (OIDC clients)", len(specs))
    existing = set(get_application_model().objects.filter(name__in=[c["name"] for c in specs])
                   .values_list("name", flat=True))
    created = []
    for spec in specs:
        if spec["name"] not in existing:
            operator = Organization.objects.get(name=spec["operator"]) if spec["operator"] else None
            credentials = client_create(
                actor=None, name=spec["name"], redirect_uris=spec["redirect_uris"],
                display_name_en=spec["display_name_en"], purpose=spec["purpose"], purpose_en=spec["purpose_en"],
                operator=operator, post_logout_redirect_uris=spec["post_logout_redirect_uris"],
            )
            created.append(credentials)
            if spec["name"] == LOCAL_CLIENT_NAME:
                transaction.on_commit(lambda c=credentials: _local_client_save(c))
        progress.advance("clients")
    return created


def _local_client_save(credentials) -> None:
    """Keep the local demo client's id and secret under var/ (owner-only) so `onecity demo`
    can show them; the database keeps only a hash of the secret."""
    path = local_client_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.unlink()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump({"client_id": credentials.client_id, "client_secret": credentials.client_secret,
                   "redirect_uri": local_client_redirect_uri()}, handle, ensure_ascii=False, indent=1)


def local_client_credentials() -> dict | None:
    try:
        return json.loads(local_client_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


# --- all steps ---------------------------------------------------------------------------------
def demo_city_seed(*, size: SeedSize = FULL, progress: Progress | None = None,
                   on_step: Callable[[str], None] | None = None) -> SeedReport:
    """Load the demo city; returns what this run created (nothing on a second run)."""
    progress = progress or Progress()
    report = SeedReport()
    report.organizations = organizations_seed(progress)
    residents = resident_specs(size.residents)
    report.residents = residents_seed(residents, progress)
    report.citizens, report.verified = citizens_seed(citizen_specs(residents, size), progress)
    report.staff = staff_seed(progress)
    report.credentials = clients_seed(progress)
    report.clients = len(report.credentials)
    from onecity.demo.hotline.loader import hotline_demo_seed  # step 6: the 12345 hotline (its own module)

    report.hotline = hotline_demo_seed(cases=size.hotline_cases, progress=progress)
    if report.hotline.cases:  # step 7: the 12345 statistics of that history
        from onecity.analytics.services import hotline_stats_rebuild

        progress.start("analytics", "12345 statistics", 1)
        hotline_stats_rebuild()
        progress.advance("analytics")
    from onecity.demo.payments import payments_demo_seed  # step 8: 福码 bills of the payee units

    if payments_demo_seed(progress=progress, bills_per_payee=size.bills_per_payee):  # step 9: the 福码 statistics of those payments
        from onecity.analytics.services import payment_stats_rebuild

        progress.start("analytics_payments", "福码 statistics", 1)
        payment_stats_rebuild()
        progress.advance("analytics_payments")
    if report.created_anything:
        with transaction.atomic():
            audit_record(actor=None, action="demo.seed", object_type="demo_city", object_id="fuzhou", detail={
                "organizations": report.organizations, "residents": report.residents,
                "citizens": report.citizens, "verified": report.verified, "staff": report.staff,
                "clients": report.clients,
            })
    return report
