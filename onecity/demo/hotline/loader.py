"""Load the demo hotline (called by onecity.demo.seeding as the `hotline` step).

1. reference data (data/*.json), upserted by natural key: two-level categories (the 7
   top-level categories of the shared labelled data — 劳动和社会保障, 城乡建设, 教育文体, 商贸旅游,
   环境保护, 卫生计生, 交通运输 — plus 民政事务 and 水电燃气), the category × district matrix for
   the 13 districts (district matters → the district government, which passes them on to its
   bureau; city matters → the city department), time limits, the knowledge base;
2. department handlers: one demo account for each unit the matrix names and each bureau;
3. history: a year of requests (FULL: 2,200; SMALL: 160), created through the hotline
   services with the clock set to each step's moment, so tracking numbers, deadlines, events and
   states are what the platform would have recorded. Messages of the past are not sent. The
   newest requests stop in every open state; older ones end closed, answered directly, not
   accepted or merged; a few were returned, sent back for redo or handled late. About 2% were
   closed and then reopened by the resident within the reopen window (HOTLINE_REOPEN_DAYS),
   dispatched again, handled again and closed; a few more (water, power or gas that failed
   again) were reopened in the last two days and are being handled again, stopped in an open
   state. Skipped when the database already holds requests (a second run adds nothing);
4. bursts (data/bursts.json): in the last days several residents of one district report the
   same matter (a residential compound without water, night-time construction noise, a broken
   lift, a collapsed road), so the duplicate suggestions and the hot-spot page have something
   to show; added once (skipped when their texts are already there);
5. the dispatch classifier, trained on that history when no version is active.

Request texts come from templates (data/requests.json) filled with each district's streets
and towns; nothing is copied from the shared labelled data.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from onecity.core.crypto import lookup_hash
from onecity.hotline.deadlines import time_limit_for
from onecity.hotline.enums import Action, CaseState, Channel, Satisfaction, TimeUnit, Urgency
from onecity.hotline.models import (
    Case,
    CaseEvent,
    Category,
    ClassifierVersion,
    DispatchRoute,
    KnowledgeEntry,
    TimeLimitRule,
    TrackingCounter,
)
from onecity.hotline.services.intake import _title_from, tracking_prefix
from onecity.identity.enums import OrganizationKind, Role, UserKind
from onecity.identity.models import Organization, StaffRole, User

DATA_DIR = Path(__file__).resolve().parent / "data"
RANDOM_SEED = 20261123
S = CaseState
OPEN_STOPS = (S.REGISTERED, S.ACCEPTED, S.DISPATCHED, S.SUB_DISPATCHED, S.RETURNED, S.SIGNED, S.IN_PROGRESS,
              S.REPLIED, S.VISITED)


@cache
def load(name: str):
    with (DATA_DIR / name).open(encoding="utf-8") as handle:
        return json.load(handle)


@dataclass
class HotlineReport:
    categories: int = 0
    routes: int = 0
    knowledge: int = 0
    handlers: int = 0
    cases: int = 0
    bursts: int = 0
    classifier: str = ""
    states: dict = field(default_factory=dict)

    @property
    def created_anything(self) -> bool:
        return any((self.categories, self.routes, self.knowledge, self.handlers, self.cases, self.bursts,
                    self.classifier))


# --- 1. reference data -------------------------------------------------------------------------
def _districts() -> list[dict]:
    from onecity.demo.seeding import load as demo_load

    return demo_load("districts.json")


def categories_seed() -> int:
    created = 0
    order = 0
    for top in load("categories.json"):
        order += 10
        parent, made = Category.objects.get_or_create(code=top["code"], defaults={
            "name": top["name"], "name_en": top["name_en"], "sort_order": order,
            "default_urgency": Urgency.NORMAL})
        created += made
        for index, child in enumerate(top["children"], start=1):
            _, made = Category.objects.get_or_create(code=child["code"], defaults={
                "name": child["name"], "name_en": child["name_en"], "parent": parent, "sort_order": order + index})
            created += made
    return created


def _route_units() -> dict[tuple[str, str], tuple[Organization, Organization | None]]:
    """(category code, district region code) → (first-level unit, bureau that handles it)."""
    orgs = {o.name: o for o in Organization.objects.filter(
        kind__in=[OrganizationKind.DEPARTMENT, OrganizationKind.DISTRICT, OrganizationKind.SUBUNIT])}
    result = {}
    for top in load("categories.json"):
        for child in top["children"]:
            for district in _districts():
                if child["unit"] == "city":
                    result[(child["code"], district["region_code"])] = (orgs[child["department"]], None)
                else:
                    result[(child["code"], district["region_code"])] = (
                        orgs[district["name"]], orgs[district["short_name"] + child["bureau"]])
    return result


def routes_seed() -> int:
    categories = {c.code: c for c in Category.objects.all()}
    districts = {o.region_code: o for o in Organization.objects.filter(kind=OrganizationKind.DISTRICT)}
    existing = set(DispatchRoute.objects.filter(district__isnull=False).values_list("category_id", "district_id"))
    batch = []
    for (code, region), (unit, _bureau) in _route_units().items():
        category, district = categories[code], districts[region]
        if (category.pk, district.pk) not in existing:
            batch.append(DispatchRoute(category=category, district=district, unit=unit))
    DispatchRoute.objects.bulk_create(batch)
    return len(batch)


def timelimits_seed() -> int:
    created = 0
    for row in load("timelimits.json"):
        category = Category.objects.get(code=row["category"])
        _, made = TimeLimitRule.objects.get_or_create(category=category, urgency=row["urgency"], defaults={
            "sign_within": row["sign"][0], "sign_unit": TimeUnit(row["sign"][1]),
            "handle_within": row["handle"][0], "handle_unit": TimeUnit(row["handle"][1])})
        created += made
    return created


def knowledge_seed() -> int:
    categories = {c.code: c for c in Category.objects.all()}
    existing = set(KnowledgeEntry.objects.values_list("question", flat=True))
    now = timezone.now()
    batch = [KnowledgeEntry(topic=row["topic"], category=categories.get(row["category"] or ""), question=row["q"],
                            answer=row["a"], keywords=row["k"], is_public=True, created_at=now, updated_at=now)
             for row in load("knowledge.json") if row["q"] not in existing]
    KnowledgeEntry.objects.bulk_create(batch)
    return len(batch)


# --- 2. handlers -------------------------------------------------------------------------------
def handlers_seed(rng: random.Random) -> tuple[int, dict[int, User]]:
    """A department handler in every unit that receives or handles demo requests; returns
    (accounts created, organization id → handler)."""
    from onecity.demo.seeding import DEMO_PASSWORD
    from onecity.demo.seeding import load as demo_load

    units: dict[int, Organization] = {}
    for unit, bureau in _route_units().values():
        units[unit.pk] = unit
        if bureau is not None:
            units[bureau.pk] = bureau
    handlers: dict[int, User] = {}
    for user in (User.objects.filter(kind=UserKind.STAFF, is_active=True, roles__role=Role.DEPARTMENT_HANDLER,
                                     organization_id__in=list(units)).order_by("pk")):
        handlers.setdefault(user.organization_id, user)
    names = demo_load("names.json")
    surnames = list(names["surnames"])
    given = names["given"]["mid"]["M"] + names["given"]["mid"]["F"]
    password = None
    batch = []
    for org_id, org in sorted(units.items()):
        if org_id in handlers:
            continue
        password = password or make_password(DEMO_PASSWORD)
        batch.append(User(username=f"handler-{org.uscc[-9:-1].lower()}", kind=UserKind.STAFF, organization=org,
                          display_name=rng.choice(surnames) + rng.choice(given), password=password))
    with transaction.atomic():
        User.objects.bulk_create(batch)
        created = list(User.objects.filter(username__in=[u.username for u in batch]))
        StaffRole.objects.bulk_create([StaffRole(user=u, role=Role.DEPARTMENT_HANDLER) for u in created])
    for user in created:
        handlers[user.organization_id] = user
    return len(created), handlers


# --- 3. history --------------------------------------------------------------------------------
REJECT_REASONS = ("该诉求属于司法程序处理范围，请通过诉讼途径解决。", "诉求内容不明确，多次联系来电人未果。",
                  "该事项不属于本市管辖范围，已告知来电人向属地反映。")
RETURN_REASON = "经核实，该事项不属于本单位职责范围，请重新派单。"
REDO_REASON = "市民反映问题未实际解决，请承办单位重新核实处理。"
REPLIES = {
    "labour": "已约谈用人单位负责人，责令其依法支付劳动报酬并补缴社会保险，相关款项已于近日发放到位。",
    "construction": "执法人员已到现场核查，当事人已按要求整改，相关设施已恢复正常，后续将加强巡查。",
    "education": "已核实相关情况并与学校和家长沟通，按照招生政策作出解释和妥善安排。",
    "commerce": "已责成经营者整改并依法处理，已协调双方达成和解，相关费用已退还。",
    "environment": "执法人员已到现场检查并责令整改，当事单位已采取降噪和治理措施，后续将持续跟踪监测。",
    "health": "已核实情况并督促相关医疗机构改进服务，已向来电人作出解释说明。",
    "transport": "已对涉事车辆和驾驶员依法处理，并要求运营企业加强管理，优化线路运营。",
    "civil": "已核实情况并按政策办理，相关待遇已发放，并向来电人解释了办理流程。",
    "utilities": "抢修人员已到场处置，故障已排除，供应已恢复正常。",
}
CHANNEL_WEIGHTS = ((Channel.PHONE, 56), (Channel.APP, 14), (Channel.WECHAT, 12), (Channel.WEB, 9),
                   (Channel.MAYOR_MAILBOX, 5), (Channel.OPEN311, 4))
DISTRICT_WEIGHTS = {"350102": 14, "350103": 11, "350104": 13, "350111": 12, "350105": 5, "350112": 7,
                    "350181": 9, "350121": 8, "350122": 5, "350123": 3, "350124": 3, "350125": 4, "350128": 6}
#: how many days ago the newest requests were filed, by the open state they stop in (enough time
#: to get there, not enough to go further)
STOP_AGE = {S.REGISTERED: (0.02, 0.3), S.ACCEPTED: (0.05, 0.5), S.DISPATCHED: (0.1, 1), S.SUB_DISPATCHED: (0.2, 1),
            S.RETURNED: (0.3, 2), S.SIGNED: (0.5, 2), S.IN_PROGRESS: (1, 3), S.REPLIED: (9, 14), S.VISITED: (9, 14)}
#: (path, returned, redo) of the first plans
FORCED = (("rejected", False, False), ("answered", False, False), ("merged", False, False),
          ("closed", True, False), ("closed", False, True))
#: reopened requests: the share of all requests reopened, handled again and closed (filed at least
#: REOPEN_MIN_AGE_DAYS ago: two rounds of handling of up to 15 working days each and the reopening
#: in between fit, holidays included); how many are reopened in the last days and stop in one of
#: REOPEN_OPEN_STOPS (filed REOPEN_OPEN_AGE days ago: a utility's first round of 24 hours is over)
REOPEN_SHARE = 0.02
REOPEN_MIN_AGE_DAYS = 90
REOPEN_OPEN = 4
REOPEN_OPEN_STOPS = (S.IN_PROGRESS, S.DISPATCHED, S.SIGNED, S.ACCEPTED)
REOPEN_OPEN_AGE = (6.5, 10)
REOPEN_REASONS = ("问题没有彻底解决，过了几天又出现了，请再处理一下。", "答复说已经整改，但现场情况没有变化，申请重新办理。",
                  "承办单位答应的事情到现在还没有落实，请重新处理。")
REOPEN_OPEN_REASON = "前几天修好后又出现同样的故障，请再派人来处理。"
REOPEN_NOTE = "市民申请重办，请承办单位重新核实处理。"
PHONE_PREFIXES = ("135", "137", "138", "139", "150", "152", "158", "159", "177", "186", "188", "189", "199")


class _Clock:
    def __init__(self) -> None:
        self.now = timezone.now()


@contextlib.contextmanager
def _replaying_history(clock: _Clock) -> Iterator[None]:
    """While the history is replayed: the services read the time from `clock` (each step sets
    it to the moment the step happened), and messages of the past are not sent (no SMS or in-app
    message to anyone, no smart-dispatch job for an old request)."""
    from onecity.hotline.services import dispatch, notify

    def silent(*args, **kwargs) -> None:
        return None

    swaps = [(timezone, "now", lambda: clock.now), (notify, "sms_reporter", silent), (notify, "in_app", silent),
             (dispatch, "smart_dispatch_wanted", lambda category: False)]
    saved = [(obj, name, getattr(obj, name)) for obj, name, _ in swaps]
    try:
        for obj, name, value in swaps:
            setattr(obj, name, value)
        yield
    finally:
        for obj, name, value in saved:
            setattr(obj, name, value)


@dataclass
class _People:
    operator: User
    dispatcher: User
    supervisor: User
    citizens: list
    handlers: dict


def _places(rng: random.Random, district: dict) -> dict:
    streets = [c["short_name"] for c in district["children"] if c["short_name"].endswith(("街道", "镇", "乡"))]
    data = load("requests.json")
    roads = data["roads"]
    return {"district": district["short_name"], "street": rng.choice(streets), "road": rng.choice(roads),
            "road2": rng.choice(roads), "community": rng.choice(data["communities"]),
            "shop": rng.choice(data["shops"]), "company": rng.choice(data["companies"]),
            "schools": rng.choice(data["schools"]), "month": f"{rng.randint(1, 12)}月",
            "amount": f"{rng.randint(3, 60) * 1000:,}".replace(",", ""), "line": str(rng.choice(
                [1, 5, 7, 11, 20, 27, 51, 61, 73, 101, 128, 137, 301, 317]))}


def _working_moment(rng: random.Random, day: dt.date) -> dt.datetime:
    hour = rng.choices(range(7, 23), weights=[2, 6, 9, 10, 9, 6, 7, 9, 9, 8, 6, 5, 5, 4, 3, 2])[0]
    naive = dt.datetime.combine(day, dt.time(hour, rng.randrange(60), rng.randrange(60)))
    return timezone.make_aware(naive)


@dataclass
class _Plan:
    at: dt.datetime
    code: str
    district: dict
    channel: str
    path: str  # closed / answered / rejected / merged
    stop: str = ""  # open state to stop in ("" = run the whole path)
    returned: bool = False
    redo: bool = False
    late: bool = False
    urgent: bool = False
    satisfaction: str = Satisfaction.SATISFIED
    text: str = ""  # a burst's own text and address (else a template filled with the district's places)
    address: str = ""
    #: "" not reopened; "closed": reopened by the resident after closing, handled again and closed;
    #: an open state: reopened in the last days and stopped in that state of its second round
    reopen: str = ""


def _plans(rng: random.Random, count: int, now: dt.datetime) -> list[_Plan]:
    codes = [child["code"] for top in load("categories.json") for child in top["children"]]
    code_weights = [3 if c.startswith(("environment.noise", "construction", "labour.wages", "transport.parking"))
                    else 2 for c in codes]
    districts = _districts()
    weights = [DISTRICT_WEIGHTS.get(d["region_code"], 4) for d in districts]
    n_open = max(len(OPEN_STOPS) * 2, count // 30)
    plans, ages = [], []
    for index in range(count):
        recent = index >= count - n_open
        stop = OPEN_STOPS[(index - (count - n_open)) % len(OPEN_STOPS)] if recent else ""
        days_ago = rng.uniform(*STOP_AGE.get(stop, (6, 365)))
        day = (now - dt.timedelta(days=days_ago)).date()
        at = _working_moment(rng, day)
        if at > now - dt.timedelta(hours=1):
            at = now - dt.timedelta(hours=rng.uniform(1, 3))
        roll = rng.random()
        path = ("rejected" if roll < 0.02 else "answered" if roll < 0.12 else "merged" if roll < 0.135
                else "closed")
        plan = _Plan(at=at, code=rng.choices(codes, code_weights)[0],
                     district=rng.choices(districts, weights)[0],
                     channel=rng.choices([c for c, _ in CHANNEL_WEIGHTS], [w for _, w in CHANNEL_WEIGHTS])[0],
                     path=path)
        plan.urgent = plan.code.startswith("utilities") and rng.random() < 0.3
        plan.returned = rng.random() < 0.03
        plan.redo = rng.random() < 0.015
        plan.late = rng.random() < 0.01
        if index < len(FORCED):  # every path at least once, however small the city
            plan.path, plan.returned, plan.redo = FORCED[index]
        if recent:
            plan.path, plan.stop, plan.redo, plan.late = "closed", stop, False, False
            plan.returned = stop == S.RETURNED
        r = rng.random()
        # about Fuzhou's 2018 figure (98.22% satisfied): a few residents stay unhappy after the reply,
        # and a supervisor reviews the reply before closing those
        plan.satisfaction = (Satisfaction.SATISFIED if r < 0.86 else Satisfaction.BASICALLY_SATISFIED if r < 0.97
                             else Satisfaction.NOT_SATISFIED if r < 0.985 else Satisfaction.NOT_REACHED)
        plans.append(plan)
        ages.append(days_ago)
    _reopen_twists(plans, ages, codes, now)
    plans.sort(key=lambda p: p.at)
    return plans


def _reopen_twists(plans: list[_Plan], ages: list[float], codes: list[str], now: dt.datetime) -> None:
    """Choose the requests residents reopen, from the plain closed ones old enough for the
    reopening and a second round of handling to fit long before today (so exactly these many
    are reopened, whatever the day the demo is loaded): REOPEN_SHARE of all requests are reopened
    within the window, handled again and closed; REOPEN_OPEN more (a utility that failed again)
    are moved to the last days and reopened within the last two days, to stop in an open state.
    Drawn from a random stream of their own, so the other requests' plans (dates, categories,
    paths) stay as they were."""
    rng = random.Random(RANDOM_SEED + 2)
    plain = [plan for plan, age in zip(plans, ages, strict=True)
             if plan.path == "closed" and not (plan.stop or plan.redo or plan.late) and age >= REOPEN_MIN_AGE_DAYS]
    done = round(len(plans) * REOPEN_SHARE)
    chosen = rng.sample(plain, min(len(plain), done + REOPEN_OPEN))
    for plan in chosen[:done]:
        plan.reopen = S.CLOSED
    utilities = [code for code in codes if code.startswith("utilities")]
    for index, plan in enumerate(chosen[done:]):
        plan.reopen = REOPEN_OPEN_STOPS[index % len(REOPEN_OPEN_STOPS)]
        plan.code, plan.urgent, plan.returned = rng.choice(utilities), False, False
        plan.at = _working_moment(rng, (now - dt.timedelta(days=rng.uniform(*REOPEN_OPEN_AGE))).date())


def _phone(rng: random.Random) -> str:
    return rng.choice(PHONE_PREFIXES) + f"{rng.randrange(100_000_000):08d}"


class _Stopped(Exception):  # noqa: N818 - control flow: the next step would be in the future
    pass


class _Replay:
    """Runs one plan through the services, moving the clock forward step by step."""

    def __init__(self, rng: random.Random, clock: _Clock, people: _People, routes: dict, now: dt.datetime):
        self.rng, self.clock, self.people, self.routes, self.end = rng, clock, people, routes, now
        self.districts = {o.region_code: o for o in Organization.objects.filter(kind=OrganizationKind.DISTRICT)}
        self.answers: dict[str, str] = {}
        self.first_level = sorted({unit.pk: unit for unit, _ in routes.values()}.values(), key=lambda o: o.pk)

    def later(self, minutes_low: float, minutes_high: float) -> None:
        self.clock.now += dt.timedelta(minutes=self.rng.uniform(minutes_low, minutes_high))
        if self.clock.now > self.end:  # not happened yet: the request stays where it is
            raise _Stopped

    def run(self, plan: _Plan) -> str:
        self.pid = ""
        try:
            return self._run(plan)
        except _Stopped:
            return Case.objects.values_list("state", flat=True).get(public_id=self.pid)

    def _intake(self, plan: _Plan) -> dict:
        rng, people = self.rng, self.people
        data = load("requests.json")
        # one call in twelve says little about the matter: the dispatcher learns it on the phone
        if plan.text:
            text, address = plan.text, plan.address
        else:
            template = rng.choice(data["vague"] if rng.random() < 1 / 12 else data["texts"][plan.code])
            places = _places(rng, plan.district)
            text = template.format(**places)
            address = f"福州市{places['district']}{places['street']}{places['road']}{rng.randint(1, 400)}号"
        reporter, actor, phone, name = None, people.operator, "", ""
        if plan.channel in (Channel.APP, Channel.WECHAT, Channel.WEB, Channel.MAYOR_MAILBOX):
            actor = reporter = rng.choice(people.citizens)
        elif plan.channel == Channel.OPEN311:
            actor, phone = None, _phone(rng)
        else:
            phone = _phone(rng)
            name = rng.choice("林陈黄郑王李张吴刘") + rng.choice(("先生", "女士"))
        anonymous = rng.random() < 0.04
        return {"actor": actor, "channel": plan.channel, "text": text,
                "district": self.districts[plan.district["region_code"]], "address": address, "reporter": reporter,
                "contact_phone": phone, "contact_name": "" if anonymous else name, "anonymous": anonymous}

    def intake_fields(self, plan: _Plan) -> dict:
        """The Case fields intake would store for a new request of `plan` (bulk path)."""
        data = self._intake(plan)
        phone = data["contact_phone"]
        return {"channel": data["channel"], "title": _title_from(data["text"]), "text": data["text"],
                "district": data["district"], "address": data["address"], "reporter": data["reporter"],
                "registered_by": data["actor"], "anonymous": data["anonymous"], "contact_name": data["contact_name"],
                "contact_phone": phone, "contact_phone_hash": lookup_hash(phone, purpose="phone") if phone else ""}

    def knowledge_answer(self, code: str) -> str:
        if code not in self.answers:
            entry = KnowledgeEntry.objects.filter(category__code=code).first() \
                or KnowledgeEntry.objects.filter(category__isnull=True).first()
            self.answers[code] = entry.answer
        return self.answers[code]

    def reply_text(self, plan: _Plan, holder: Organization, *, again: bool = False) -> str:
        if again:  # the second round after the resident reopened it
            return (f"您好，您申请重办的问题已收悉。经{holder.name}再次到现场核实，{REPLIES[plan.code.split('.')[0]]}"
                    "此前处理不到位之处，我们已督促整改，感谢您的监督。")
        return (f"您好，您反映的问题已收悉。经{holder.name}核实，{REPLIES[plan.code.split('.')[0]]}"
                "感谢您对我们工作的支持与监督。")

    def register(self, plan: _Plan, *, at: dt.datetime | None = None):
        from onecity.hotline.services.intake import case_register

        data = self._intake(plan)
        self.clock.now = at or plan.at
        return case_register(**{**data, "contact_phone": data["contact_phone"] or None},
                             urgency=Urgency.URGENT if plan.urgent else None)

    def _run(self, plan: _Plan) -> str:
        from onecity.hotline.services import cases as svc

        people, rng = self.people, self.rng
        case = self.register(plan)
        pid = self.pid = case.public_id
        if plan.stop == S.REGISTERED:
            return S.REGISTERED
        self.later(3, 25)
        if plan.path == "rejected":
            return svc.case_reject(actor=people.operator, case_id=pid, reason=rng.choice(REJECT_REASONS)).state
        if plan.path == "answered":
            svc.case_classify(actor=people.operator, case_id=pid, category_code=plan.code)
            return svc.case_answer(actor=people.operator, case_id=pid, answer=self.knowledge_answer(plan.code)).state
        svc.case_accept(actor=people.operator, case_id=pid)
        if plan.path == "merged":  # a second resident reports the same matter; merged into the first
            duplicate = self.register(plan, at=plan.at + dt.timedelta(minutes=rng.uniform(20, 90)))
            self.later(5, 20)
            svc.case_merge(actor=people.dispatcher, case_id=duplicate.public_id, into_case_id=pid,
                           note="同一事项重复反映，合并办理。")
        if plan.stop == S.ACCEPTED:
            return S.ACCEPTED
        unit, bureau = self.routes[(plan.code, plan.district["region_code"])]
        quick = plan.urgent or plan.code.startswith("utilities")
        self.later(5, 15) if quick else self.later(10, 50)
        if plan.returned:
            wrong = rng.choice([u for u in self.first_level if u.pk != unit.pk])
            svc.case_dispatch(actor=people.dispatcher, case_id=pid, unit=wrong, category_code=plan.code)
            self.later(20, 120)
            svc.case_return(actor=people.handlers[wrong.pk], case_id=pid, reason=RETURN_REASON)
            if plan.stop == S.RETURNED:
                return S.RETURNED
            self.later(10, 40)
        state = self._handle(plan, pid, unit, bureau, quick, stop=plan.stop, satisfaction=plan.satisfaction,
                             redo=plan.redo)
        if not plan.reopen or state != S.CLOSED:
            return state
        return self._reopen(plan, pid, case.reporter, unit, bureau, quick)

    def _handle(self, plan: _Plan, pid: str, unit, bureau, quick: bool, *, stop: str, satisfaction: str,
                redo: bool = False, again: bool = False, note: str = "") -> str:
        """派单 → [二级派单] → 签收 → 办理 → 办结回复 → [重办] → 回访 → 结案, stopping in `stop`
        ("" = to the end); `again`: the second round after a reopening."""
        from onecity.hotline.services import cases as svc

        people = self.people
        svc.case_dispatch(actor=people.dispatcher, case_id=pid, unit=unit, category_code=plan.code, note=note)
        if stop == S.DISPATCHED:
            return S.DISPATCHED
        holder = unit
        if bureau is not None:
            self.later(10, 60)
            svc.case_sub_dispatch(actor=people.handlers[unit.pk], case_id=pid, subunit=bureau)
            holder = bureau
            if stop == S.SUB_DISPATCHED:
                return S.SUB_DISPATCHED
        handler = people.handlers[holder.pk]
        self.later(5, 30) if quick else self.later(20, 180)
        svc.case_sign(actor=handler, case_id=pid)
        if stop == S.SIGNED:
            return S.SIGNED
        self.later(10, 60)
        svc.case_start(actor=handler, case_id=pid)
        if stop == S.IN_PROGRESS:
            return S.IN_PROGRESS
        self._reply(plan, handler, pid, again=again)
        if stop == S.REPLIED:
            return S.REPLIED
        if redo:
            self.later(60, 600)
            svc.case_visit(actor=people.operator, case_id=pid, satisfaction=Satisfaction.NOT_SATISFIED,
                           note="问题仍未解决")
            self.later(30, 240)
            svc.case_redo(actor=people.dispatcher, case_id=pid, reason=REDO_REASON)
            self._reply(plan, handler, pid, again=again)
        self.later(60, 1440)
        svc.case_visit(actor=people.operator, case_id=pid, satisfaction=satisfaction)
        if stop == S.VISITED:
            return S.VISITED
        self.later(10, 240)
        closer = people.supervisor if satisfaction == Satisfaction.NOT_SATISFIED else people.operator
        return svc.case_close(actor=closer, case_id=pid).state

    def _reopen(self, plan: _Plan, pid: str, reporter, unit, bureau, quick: bool) -> str:
        """The resident reopens the closed request within the reopen window (`plan.reopen` closed:
        12 hours to 12 days after closing; else within the last two days), with the real service:
        in the app when they filed it there, else by phoning the hotline, whose operator reopens it
        for them. Then it is dispatched to the same unit and handled again."""
        from onecity.hotline.services import cases as svc

        people, rng = self.people, self.rng
        if plan.reopen == S.CLOSED:
            self.later(12 * 60, 12 * 24 * 60)
            reason = rng.choice(REOPEN_REASONS)
        else:
            self.clock.now = max(self.clock.now + dt.timedelta(hours=2),
                                 self.end - dt.timedelta(hours=rng.uniform(2, 48)))
            if self.clock.now > self.end:
                raise _Stopped
            reason = REOPEN_OPEN_REASON
        svc.case_reopen(actor=reporter or people.operator, case_id=pid, reason=reason)
        if plan.reopen == S.ACCEPTED:
            return S.ACCEPTED
        self.later(5, 15) if quick else self.later(10, 50)
        satisfaction = Satisfaction.SATISFIED if rng.random() < 0.8 else Satisfaction.BASICALLY_SATISFIED
        return self._handle(plan, pid, unit, bureau, quick, stop="" if plan.reopen == S.CLOSED else plan.reopen,
                            satisfaction=satisfaction, again=True, note=REOPEN_NOTE)

    def _reply(self, plan: _Plan, handler, pid: str, *, again: bool = False) -> None:
        from onecity.hotline.services import cases as svc

        due = Case.objects.values_list("handle_due_at", flat=True).get(public_id=pid)
        if plan.late:
            self.clock.now = due + dt.timedelta(hours=self.rng.uniform(2, 30))
        else:  # somewhere in the first 80% of the handling time
            span = (due - self.clock.now).total_seconds()
            self.clock.now += dt.timedelta(seconds=max(600.0, self.rng.uniform(0.1, 0.8) * span))
        if self.clock.now > self.end:
            raise _Stopped
        svc.case_reply(actor=handler, case_id=pid, reply=self.reply_text(plan, handler.organization, again=again))


class _Bulk:
    """The plain closed requests of the past (registered → accepted → dispatched → [second-level]
    → signed → handled → replied → visited → closed, nothing unusual) written in bulk: the same
    fields, event rows and deadlines (deadlines.py, the working-day calendar) the services record,
    without a round of queries per step. Every request with a twist (the reopened ones take the
    plain path through the services twice), every tenth answered one and every fortieth plain
    one go through the services instead (_Replay)."""

    def __init__(self, replay: _Replay):
        self.replay = replay
        self.limits: dict = {}
        self.categories = {c.code: c for c in Category.objects.all()}
        self.counters = dict(TrackingCounter.objects.values_list("day", "last"))
        self.cases: list[Case] = []
        self.events: list[list[CaseEvent]] = []

    def limit(self, category_id: int, urgency: str):
        key = (category_id, urgency)
        if key not in self.limits:
            self.limits[key] = time_limit_for(category_id=category_id, urgency=urgency)
        return self.limits[key]

    def tracking_number(self, moment: dt.datetime) -> str:
        day = timezone.localdate(moment)
        self.counters[day] = self.counters.get(day, 0) + 1
        return f"{tracking_prefix()}-{day:%Y%m%d}-{self.counters[day]:06d}"

    def add_answered(self, plan: _Plan) -> None:
        """登记 → categorised → 直接答复办结 by the operator, from the knowledge base."""
        replay, rng, people = self.replay, self.replay.rng, self.replay.people
        fields = replay.intake_fields(plan)
        category = self.categories[plan.code]
        answer = replay.knowledge_answer(plan.code)
        t_reg = plan.at
        t_cls = t_reg + dt.timedelta(minutes=rng.uniform(1, 6))
        t_ans = t_cls + dt.timedelta(minutes=rng.uniform(1, 10))
        self.cases.append(Case(tracking_number=self.tracking_number(t_reg), state=S.ANSWERED, category=category,
                               urgency=Urgency.NORMAL, state_entered_at=t_ans, reply=answer, replied_at=t_ans,
                               closed_at=t_ans, created_at=t_reg, updated_at=t_ans, **fields))
        self.events.append([
            CaseEvent(actor=fields["registered_by"], action=Action.REGISTER, to_state=S.REGISTERED, at=t_reg,
                      data={"channel": plan.channel}),
            CaseEvent(actor=people.operator, action=Action.CLASSIFY, at=t_cls,
                      data={"category": plan.code, "previous": "", "confidence": None}),
            CaseEvent(actor=people.operator, action=Action.ANSWER, from_state=S.REGISTERED, to_state=S.ANSWERED,
                      note=answer, at=t_ans)])

    def add(self, plan: _Plan) -> bool:
        """Add `plan`; False when it would not be closed by now (then the services replay it)."""
        if plan.path == "answered":
            self.add_answered(plan)
            return True
        replay, rng, people = self.replay, self.replay.rng, self.replay.people
        fields = replay.intake_fields(plan)
        category = self.categories[plan.code]
        unit, bureau = replay.routes[(plan.code, plan.district["region_code"])]
        holder = bureau or unit
        limit = self.limit(category.pk, Urgency.NORMAL)
        quick = plan.code.startswith("utilities")

        def minutes(low, high):
            return dt.timedelta(minutes=rng.uniform(low, high))

        t_reg = plan.at
        t_acc = t_reg + minutes(3, 25)
        t_dis = t_acc + (minutes(5, 15) if quick else minutes(10, 50))
        t_sub = t_dis + minutes(10, 60) if bureau is not None else None
        t_sign = (t_sub or t_dis) + (minutes(5, 30) if quick else minutes(20, 180))
        t_start = t_sign + minutes(10, 60)
        handle_due = limit.handle_deadline(t_sign)
        t_reply = t_start + dt.timedelta(seconds=max(600.0, rng.uniform(0.1, 0.8)
                                                     * (handle_due - t_start).total_seconds()))
        t_visit = t_reply + minutes(60, 1440)
        t_close = t_visit + minutes(10, 240)
        if t_close > replay.end:
            return False
        due = limit.overall_deadline(t_acc)
        sign_due_first = limit.sign_deadline(t_dis)
        sign_due = limit.sign_deadline(t_sub) if t_sub else sign_due_first
        reply = replay.reply_text(plan, holder)
        handler_unit, handler_holder = people.handlers[unit.pk], people.handlers[holder.pk]
        case = Case(tracking_number=self.tracking_number(t_reg), state=S.CLOSED, category=category,
                    urgency=Urgency.NORMAL, assigned_unit=unit, assigned_subunit=bureau, state_entered_at=t_close,
                    accepted_at=t_acc, due_at=due, dispatched_at=t_dis, sign_due_at=sign_due, signed_at=t_sign,
                    handle_due_at=handle_due, replied_at=t_reply, closed_at=t_close, reply=reply,
                    satisfaction=plan.satisfaction, created_at=t_reg, updated_at=t_close, **fields)

        def event(action, actor, from_state, to_state, at, note="", data=None):
            return CaseEvent(actor=actor, action=action, from_state=from_state, to_state=to_state, note=note,
                             data=data or {}, at=at)

        events = [event(Action.REGISTER, fields["registered_by"], "", S.REGISTERED, t_reg,
                        data={"channel": plan.channel}),
                  event(Action.ACCEPT, people.operator, S.REGISTERED, S.ACCEPTED, t_acc, data={"due_at": due.isoformat()}),
                  event(Action.DISPATCH, people.dispatcher, S.ACCEPTED, S.DISPATCHED, t_dis,
                        data={"unit": unit.public_id, "sign_due_at": sign_due_first.isoformat()})]
        state = S.DISPATCHED
        if bureau is not None:
            events.append(event(Action.SUB_DISPATCH, handler_unit, S.DISPATCHED, S.SUB_DISPATCHED, t_sub,
                                data={"subunit": bureau.public_id, "sign_due_at": sign_due.isoformat()}))
            state = S.SUB_DISPATCHED
        events += [event(Action.SIGN, handler_holder, state, S.SIGNED, t_sign,
                         data={"handle_due_at": handle_due.isoformat(), "late": t_sign > sign_due}),
                   event(Action.START, handler_holder, S.SIGNED, S.IN_PROGRESS, t_start),
                   event(Action.REPLY, handler_holder, S.IN_PROGRESS, S.REPLIED, t_reply, note=reply,
                         data={"late": t_reply > handle_due}),
                   event(Action.VISIT, people.operator, S.REPLIED, S.VISITED, t_visit,
                         data={"satisfaction": plan.satisfaction}),
                   event(Action.CLOSE, people.supervisor if plan.satisfaction == Satisfaction.NOT_SATISFIED
                         else people.operator, S.VISITED, S.CLOSED, t_close)]
        self.cases.append(case)
        self.events.append(events)
        return True

    def flush(self) -> int:
        if not self.cases:
            return 0
        with transaction.atomic():
            Case.objects.bulk_create(self.cases, batch_size=500)
            rows = []
            for case, events in zip(self.cases, self.events, strict=True):
                for row in events:
                    row.case = case
                    rows.append(row)
            CaseEvent.objects.bulk_create(rows, batch_size=1000)
            existing = set(TrackingCounter.objects.values_list("day", flat=True))
            TrackingCounter.objects.bulk_create([TrackingCounter(day=d, last=n) for d, n in self.counters.items()
                                                 if d not in existing])
            for day, last in self.counters.items():
                if day in existing:
                    TrackingCounter.objects.filter(day=day, last__lt=last).update(last=last)
        done = len(self.cases)
        self.cases, self.events = [], []
        return done


def _bulk_eligible(plan: _Plan, index: int, now: dt.datetime) -> bool:
    if plan.path == "answered":
        return index % 10 != 0
    return (plan.path == "closed"
            and not (plan.stop or plan.returned or plan.redo or plan.late or plan.urgent or plan.reopen)
            and plan.at < now - dt.timedelta(days=6) and index % 40 != 0)


def _people(handlers: dict) -> _People:
    from onecity.demo.seeding import STAFF_ACCOUNTS

    staff = {u.username: u for u in User.objects.filter(username__in=[a.username for a in STAFF_ACCOUNTS])}
    citizens = list(User.objects.filter(kind=UserKind.CITIZEN, is_active=True).order_by("pk")[:400])
    return _People(operator=staff["operator"], dispatcher=staff["dispatcher"], supervisor=staff["supervisor"],
                   citizens=citizens, handlers=handlers)


def history_seed(*, count: int, handlers: dict, progress, rng: random.Random) -> dict[str, int]:
    """Replay `count` requests of the past year; returns the number per final state."""
    if Case.objects.exists():
        return {}
    progress.start("hotline", "Hotline requests (a year)", count)
    people = _people(handlers)
    now = timezone.now()
    clock = _Clock()
    routes = _route_units()
    replay = _Replay(rng, clock, people, routes, now)
    states: dict[str, int] = {}
    plans = _plans(rng, count, now)
    bulk = _Bulk(replay)
    bulk_plans = []
    for start in range(0, len(plans), 500):
        chosen = [p for i, p in enumerate(plans[start:start + 500], start=start) if _bulk_eligible(p, i, now)]
        chosen = [p for p in chosen if bulk.add(p)]
        bulk.flush()
        bulk_plans += chosen
        for plan in chosen:
            state = str(S.ANSWERED if plan.path == "answered" else S.CLOSED)
            states[state] = states.get(state, 0) + 1
        progress.advance("hotline", len(chosen))
    bulk_ids = {id(p) for p in bulk_plans}
    with _replaying_history(clock):
        for start in range(0, len(plans), 100):
            chunk = [p for p in plans[start:start + 100] if id(p) not in bulk_ids]
            with transaction.atomic():
                for plan in chunk:
                    state = str(replay.run(plan))
                    states[state] = states.get(state, 0) + 1
            progress.advance("hotline", len(chunk))
    return states


BURST_CHANNELS = (Channel.PHONE, Channel.APP, Channel.PHONE, Channel.WECHAT, Channel.PHONE, Channel.WEB)


def bursts_seed(*, handlers: dict, progress) -> int:
    """Add the bursts of data/bursts.json (each request `hours` before now, stopped in its open
    state, or taken to the end when no state is given) through the services; returns how many
    requests were added (0 when they are already there)."""
    bursts = load("bursts.json")
    texts = [text for burst in bursts for _hours, _stop, text in burst["requests"]]
    if not Case.objects.exists() or Case.objects.filter(text__in=texts).exists():
        return 0
    progress.start("hotline_bursts", "Hotline bursts (last days)", len(texts))
    now = timezone.now()
    clock = _Clock()
    districts = {d["region_code"]: d for d in _districts()}
    replay = _Replay(random.Random(RANDOM_SEED + 1), clock, _people(handlers), _route_units(), now)
    plans = [_Plan(at=now - dt.timedelta(hours=hours), code=burst["category"], district=districts[burst["district"]],
                   channel=BURST_CHANNELS[index % len(BURST_CHANNELS)], path="closed", stop=stop, text=text,
                   address=burst["address"])
             for burst in bursts for index, (hours, stop, text) in enumerate(burst["requests"])]
    with _replaying_history(clock), transaction.atomic():
        for plan in sorted(plans, key=lambda p: p.at):
            replay.run(plan)
            progress.advance("hotline_bursts")
    return len(plans)


# --- all ---------------------------------------------------------------------------------------
def hotline_demo_seed(*, cases: int, progress) -> HotlineReport:
    """Load the demo hotline (module docstring); idempotent."""
    from onecity.hotline.services.classifier_versions import classifier_train_from_history

    rng = random.Random(RANDOM_SEED)
    report = HotlineReport()
    with transaction.atomic():
        report.categories = categories_seed() + timelimits_seed()
        report.routes = routes_seed()
        report.knowledge = knowledge_seed()
    report.handlers, handlers = handlers_seed(rng)
    report.states = history_seed(count=cases, handlers=handlers, progress=progress, rng=rng)
    report.cases = sum(report.states.values())
    report.bursts = bursts_seed(handlers=handlers, progress=progress)
    if not ClassifierVersion.objects.filter(is_active=True).exists():
        progress.start("classifier", "Dispatch classifier", 1)
        version = classifier_train_from_history(source="demo", min_new=0)
        report.classifier = version.version if version is not None else ""
        progress.advance("classifier")
    return report
