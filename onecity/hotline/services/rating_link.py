"""Signed links to the rating page, sent by SMS when a request is replied.

The token binds the case's public id and its reporter's account (django.core.signing with a
purpose salt, so it is worthless anywhere else), and expires after HOTLINE_RATING_LINK_DAYS
(default 7). The page still requires the reporter to sign in: the link only saves looking the
request up.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.urls import reverse

SALT = "onecity.hotline.rating-link"


def rating_link_days() -> int:
    return int(getattr(settings, "HOTLINE_RATING_LINK_DAYS", 7))


@dataclass(frozen=True)
class RatingLink:
    case_id: str
    reporter_id: int


def rating_token_make(*, case_id: str, reporter_id: int) -> str:
    return signing.dumps({"c": str(case_id), "r": int(reporter_id)}, salt=SALT, compress=True)


def rating_token_read(token: str) -> RatingLink:
    """The link's case and reporter. Raises signing.SignatureExpired for an old link and
    signing.BadSignature for anything tampered with."""
    data = signing.loads(token, salt=SALT, max_age=rating_link_days() * 86400)
    if not isinstance(data, dict) or not isinstance(data.get("c"), str) or not isinstance(data.get("r"), int):
        raise signing.BadSignature("malformed rating link")
    return RatingLink(case_id=data["c"], reporter_id=data["r"])


def rating_url(*, case_id: str, reporter_id: int) -> str:
    """The absolute URL of the rating page for this case and reporter."""
    path = reverse("hotline:rate_link", args=[rating_token_make(case_id=case_id, reporter_id=reporter_id)])
    return settings.BASE_URL + path
