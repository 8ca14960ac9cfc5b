"""Hot spots (selectors/hotspots.py and the desk page): requests of a window clustered by district
and text, counted against the previous window; exact clusters on hand-made requests; the page is
for supervisors and administrators only; the report is cached per window."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.cache import cache
from django.urls import reverse

from onecity.hotline.enums import CaseState
from onecity.hotline.selectors import hotspots as hs
from onecity.hotline.tests.support import advance, at, register
from onecity.identity.tests.accounts_support import make_staff

S = CaseState
pytestmark = pytest.mark.django_db
URL = "/hotline/desk/hotspots/"

WATER = ("温泉街道阳光小区从昨天晚上开始停水，到现在还没有来水，请尽快恢复供水。",
         "阳光小区停水快一天了，到现在还没有来水，物业说是供水管道爆管。",
         "我住阳光小区7号楼，今天一整天停水，事先没有通知，请尽快恢复供水。",
         "阳光小区大面积停水，已经停了十几个小时，请有关部门尽快恢复供水。")
WATER_BEFORE = ("阳光小区又停水了，上个月也停过一次，请查明原因恢复供水。",
                "阳光小区停水，没有提前通知，请自来水公司尽快恢复供水。")
NOISE = ("江滨大道在建工地每天晚上施工到凌晨，打桩机噪音很大，请查处夜间施工。",
         "江滨大道工地夜间施工噪音扰民，晚上十一点以后还在浇筑混凝土，请城管部门查处。",
         "江滨大道在建工地夜间施工噪音严重扰民，打桩声音一直到半夜，请查处。")
POTHOLE = ("五四路与湖东路交叉口有一个大坑，电动车经过很危险，请尽快修补。",
           "湖东路五四路口路面有个大坑，电动车经过很危险，请尽快修补路面。")
#: the city's other requests of the weeks before, which the TF-IDF weights are also fitted on
BACKGROUND = ("小区门口的路灯坏了一个多月，晚上出行很不方便，请尽快维修。",
              "公交7路车经常不按时发车，等了四十多分钟都没有来车。",
              "孩子明年上小学，想咨询学区划分和入学需要准备的材料。",
              "某装修公司拖欠工人工资三个月，老板电话不接。",
              "小区物业擅自提高物业费，没有召开业主大会。",
              "楼下饭店油烟直排，家里窗户都不敢开。",
              "出租车司机绕路多收费，还拒绝打表。",
              "医院挂号难，网上预约一直显示已满。",
              "路边有人占道经营，早上堵得走不动。",
              "老旧小区加装电梯的补贴怎么申请？",
              "河道里有人偷排污水，河水发黑发臭。",
              "养老金本月没有按时到账，想了解原因。",
              "网购的商品质量有问题，商家拒绝退货。",
              "小区旁边工厂晚上机器运转，噪声很大。",
              "共享单车乱停乱放，把人行道都堵住了。",
              "想办理结婚登记，需要提前预约吗？")
OTHERS = ("楼下烧烤店每天营业到凌晨两点，油烟很大，严重影响居民休息。",
          "我在某电子厂上班，公司从三月开始拖欠工资，请劳动监察部门帮忙。")


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def requests_(city, clock):
    """Now is 2026-11-23 10:00: the last 7 days start 11-16 10:00, the previous 7 days 11-09 10:00."""
    made = {}
    clock.set(at(2026, 10, 1, 9))
    made["background"] = [register(city, text=t, district=(city.district, city.other_district)[i % 2])
                          for i, t in enumerate(BACKGROUND)]
    clock.set(at(2026, 10, 20, 9))
    made["old_water"] = register(city, text=WATER_BEFORE[0])  # before both windows
    clock.set(at(2026, 11, 10, 9))
    made["water_before"] = [advance(city, register(city, text=t), S.ACCEPTED, category=city.water)
                            for t in WATER_BEFORE]
    made["other_before"] = register(city, text=OTHERS[0])
    clock.set(at(2026, 11, 20, 9))
    made["water"] = [advance(city, register(city, text=t), S.ACCEPTED, category=city.water) for t in WATER[:2]]
    made["noise"] = [register(city, text=t, district=city.other_district) for t in NOISE]
    made["pothole"] = [advance(city, register(city, text=t), S.ACCEPTED) for t in POTHOLE]  # only two
    made["water_elsewhere"] = [register(city, text=t, district=city.other_district) for t in WATER[:2]]
    made["others"] = [register(city, text=t) for t in OTHERS]
    clock.set(at(2026, 11, 23, 8))
    made["water"] += [register(city, text=t) for t in WATER[2:]]  # not categorised yet
    clock.set(at(2026, 11, 23, 10))
    return made


def summary(report):
    return [(h.district_id, h.category_code, h.count, h.before, h.keywords, [e.tracking_number for e in h.examples])
            for h in report.hotspots]


def numbers(cases):
    return [c.tracking_number for c in sorted(cases, key=lambda c: (c.created_at, c.pk), reverse=True)]


def test_clusters_by_district_and_text_against_the_previous_window(city, requests_, clock):
    report = hs.hotspot_compute(window="7d", end=clock.now)
    assert (report.start, report.previous_start) == (at(2026, 11, 16, 10), at(2026, 11, 9, 10))
    assert (report.total, report.total_before) == (13, 3)
    # the water outage (4 now; 1 before: one of the two earlier reports reads like these) and the
    # night-time noise (3 now, none before: new) both rose by 3, the larger first; two potholes
    # are not a hot spot, nor the outage's two reports in the other district
    assert summary(report) == [
        (city.district.pk, "utility.water", 4, 1, ("停水", "阳光", "小区", "来水", "尽快恢复"),
         numbers(requests_["water"])[:3]),
        (city.other_district.pk, "", 3, 0, ("大道", "江滨", "在建工地", "查处", "夜间施工"),
         numbers(requests_["noise"])),
    ]
    water, noise = report.hotspots
    assert (water.change, water.growth, water.growth_percent, water.rising) == (3, 3.0, 300, True)
    assert (noise.change, noise.growth, noise.growth_percent, noise.rising) == (3, None, None, True)
    assert report.rising == report.hotspots
    # the heat map: the window's requests per district and top-level category
    assert report.heat == tuple(sorted([
        (city.district.pk, "urban", 2), (city.district.pk, "utility.water", 2), (city.district.pk, "", 4),
        (city.other_district.pk, "", 5)]))


def test_the_window_is_switchable(city, requests_, clock):
    day = hs.hotspot_compute(window="24h", end=clock.now)
    assert (day.total, day.total_before) == (2, 0)
    assert summary(day) == []
    month = hs.hotspot_compute(window="30d", end=clock.now)
    assert (month.total, month.total_before) == (16, 17)
    # the month holds the outage's earlier reports too; before it, the one of 20 October
    assert [(h.district_id, h.count, h.before) for h in month.hotspots] == [
        (city.district.pk, 6, 1), (city.other_district.pk, 3, 0)]
    assert hs.window_or_default("1y") == "7d"


def test_the_report_is_cached_per_window_for_five_minutes(city, requests_, clock):
    first = hs.hotspot_report(window="7d")
    assert first.end == clock.now  # 10:00, the start of a five-minute slot
    clock.advance(minutes=1)
    for text in WATER:
        register(city, text=text, district=city.other_district)
    assert hs.hotspot_report(window="7d") == first  # the same slot: from the cache
    assert len(hs.hotspot_compute(window="7d", end=clock.now).hotspots) == 3
    assert hs.hotspot_report(window="24h").total == 2  # another window: computed, up to 10:00
    clock.advance(minutes=4, seconds=30)  # 10:05:30: the next slot
    report = hs.hotspot_report(window="7d")
    assert report.end == at(2026, 11, 23, 10, 5)
    assert len(report.hotspots) == 3


def test_no_requests_no_hot_spots(city, clock):
    report = hs.hotspot_report(window="7d")
    assert (report.total, report.total_before, report.hotspots, report.heat) == (0, 0, (), ())


# --- the page ------------------------------------------------------------------------------------
def signed_in(client, user, language="en"):
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


def test_url_and_navigation(city, client):
    assert reverse("hotline:desk_hotspots") == URL
    page = signed_in(client, city.supervisor).get(reverse("hotline:desk_supervision")).content.decode()
    assert f'href="{URL}"' in page
    client.logout()
    page = signed_in(client, city.dispatcher).get(reverse("hotline:desk_dispatch")).content.decode()
    assert f'href="{URL}"' not in page


def test_supervisor_sees_the_hot_spots_with_links_to_the_requests(city, requests_, client):
    page = signed_in(client, city.supervisor).get(URL).content.decode()
    assert page.count("data-hotspot=") == 2
    for case in requests_["noise"] + requests_["water"][1:]:  # the three newest of each
        assert f'href="{reverse("hotline:desk_case", args=[case.public_id])}"' in page
    assert 'data-echarts="hotspot-rising"' in page and 'data-echarts="hotspot-heat"' in page
    assert "+300%" in page and ">New<" in page
    page = client.get(URL, {"window": "24h"}).content.decode()
    assert page.count("data-hotspot=") == 0
    assert "No group of 3 or more similar requests in one district in this period." in page


def test_the_page_speaks_chinese_by_default(city, requests_, client):
    page = signed_in(client, city.supervisor, "zh-hans").get(URL).content.decode()
    assert "<h1 class=\"page-title\">热点诉求</h1>" in page
    assert "最近 7 天" in page and "新出现" in page


def test_administrator_sees_them_without_case_links(city, requests_, client):
    admin = make_staff("administrator", username="admin")
    page = signed_in(client, admin).get(URL).content.decode()
    assert page.count("data-hotspot=") == 2
    assert requests_["noise"][0].tracking_number in page
    assert "/hotline/desk/cases/" not in page


@pytest.mark.parametrize("who", ["resident", "handler", "dispatcher", "operator"])
def test_others_get_403(city, requests_, client, who):
    user = {"resident": city.resident, "handler": city.handler, "dispatcher": city.dispatcher,
            "operator": city.operator}[who]
    response = signed_in(client, user).get(URL)
    assert response.status_code == 403
    assert "data-hotspot" not in response.content.decode()


def test_anonymous_is_sent_to_sign_in(client):
    response = client.get(URL)
    assert response.status_code == 302 and response["Location"].startswith("/login/")
