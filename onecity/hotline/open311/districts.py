"""Approximate bounding boxes of Fuzhou's 13 districts and counties, to place an Open311 request
that comes with coordinates but no `attribute[district]`. The platform has no geocoder (it must
run on an intranet), so this is data, not GIS: boxes in WGS-84 degrees drawn around each
administrative area, checked in order, the first match wins. The order puts the small urban
districts before the large outer ones whose boxes overlap them. Near a border a request may
land in the neighbouring district; dispatchers correct that as for any request. A client that
knows the district sends `attribute[district]` (its region code) and the boxes are not used.
"""

from __future__ import annotations

from decimal import Decimal

#: (region code, [(south, west, north, east), ...]) in the order they are checked
DISTRICT_BOXES: list[tuple[str, list[tuple[float, float, float, float]]]] = [
    ("350103", [(26.035, 119.270, 26.065, 119.350)]),  # 台江区
    ("350102", [(26.065, 119.240, 26.120, 119.320)]),  # 鼓楼区
    ("350104", [(25.940, 119.200, 26.035, 119.420)]),  # 仓山区
    ("350111", [(26.065, 119.320, 26.400, 119.460), (26.120, 119.240, 26.400, 119.320)]),  # 晋安区
    ("350105", [(25.950, 119.420, 26.120, 119.700)]),  # 马尾区
    ("350112", [(25.700, 119.400, 25.950, 119.800)]),  # 长乐区
    ("350128", [(25.350, 119.600, 25.700, 120.000)]),  # 平潭县 (平潭综合实验区)
    ("350181", [(25.300, 119.000, 25.800, 119.600)]),  # 福清市
    ("350122", [(26.120, 119.460, 26.600, 120.000)]),  # 连江县
    ("350123", [(26.400, 119.200, 26.700, 119.850)]),  # 罗源县
    ("350121", [(25.800, 118.850, 26.400, 119.240), (25.800, 119.240, 25.940, 119.400)]),  # 闽侯县
    ("350124", [(26.000, 118.500, 26.450, 118.850)]),  # 闽清县
    ("350125", [(25.600, 118.450, 26.000, 119.000)]),  # 永泰县
]


def region_for(lat: Decimal | float, lng: Decimal | float) -> str | None:
    """The region code of the district whose box contains (lat, lng), or None outside them all."""
    lat, lng = float(lat), float(lng)
    for code, boxes in DISTRICT_BOXES:
        for south, west, north, east in boxes:
            if south <= lat <= north and west <= lng <= east:
                return code
    return None
