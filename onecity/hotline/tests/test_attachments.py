"""Photos of a request: checked by content, size and dimensions; stored once under their hash;
all or nothing with the request; served only to those who may see the case."""

from __future__ import annotations

import hashlib
import io

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from onecity.core.errors import ApplicationError
from onecity.hotline.enums import Channel
from onecity.hotline.models import Attachment, Case
from onecity.hotline.services.attachments import (
    PHOTO_MAX_BYTES,
    case_report,
    photo_check,
    photos_check,
    storage_name,
)
from onecity.hotline.tests.support import S, advance


def image_bytes(fmt="PNG", size=(64, 48), color=(200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format=fmt)
    return out.getvalue()


def upload(name, data, content_type="image/png"):
    return SimpleUploadedFile(name, data, content_type=content_type)


def report_fields(city, **extra):
    fields = {"channel": Channel.WEB, "text": "五四路路灯坏了一周，晚上很黑。", "district": city.district,
              "address": "五四路88号"}
    fields.update(extra)
    return fields


@pytest.mark.parametrize(("fmt", "content_type"), [("PNG", "image/png"), ("JPEG", "image/jpeg"),
                                                   ("WEBP", "image/webp")])
def test_real_photos_are_accepted_by_content(fmt, content_type):
    data = image_bytes(fmt)
    photo = photo_check(upload("whatever.bin", data, "application/octet-stream"))
    assert (photo.content_type, photo.width, photo.height) == (content_type, 64, 48)
    with Image.open(io.BytesIO(photo.data)) as stored:
        assert (stored.format, stored.size) == (fmt, (64, 48))


def test_metadata_is_removed_and_the_photo_turned_upright():
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0xA431] = "SERIAL-0042"  # BodySerialNumber
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to display
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (10, 200, 10)).save(out, format="JPEG", exif=exif)
    data = out.getvalue() + b"<?php echo 'appended'; ?>"
    assert b"SERIAL-0042" in data
    photo = photo_check(upload("p.jpg", data, "image/jpeg"))
    assert b"SERIAL-0042" not in photo.data and b"PhoneMaker" not in photo.data and b"php" not in photo.data
    with Image.open(io.BytesIO(photo.data)) as stored:
        assert dict(stored.getexif()) == {}
        assert stored.size == (48, 64) == (photo.width, photo.height)


def test_text_file_named_jpg_is_refused():
    with pytest.raises(ApplicationError) as exc:
        photo_check(upload("photo.jpg", b"this is not a photo at all\n" * 10, "image/jpeg"))
    assert (exc.value.code, exc.value.field) == ("photo_type", "photos")


def test_gif_and_truncated_png_are_refused():
    gif = io.BytesIO()
    Image.new("RGB", (20, 20)).save(gif, format="GIF")
    with pytest.raises(ApplicationError) as exc:
        photo_check(upload("a.png", gif.getvalue()))
    assert exc.value.code == "photo_type"
    with pytest.raises(ApplicationError) as exc:
        photo_check(upload("b.png", image_bytes("PNG", size=(300, 300))[:200]))
    assert exc.value.code == "photo_type"


def test_oversize_is_refused():
    big = SimpleUploadedFile("big.png", b"\x89PNG" + b"0" * PHOTO_MAX_BYTES, content_type="image/png")
    with pytest.raises(ApplicationError) as exc:
        photo_check(big)
    assert exc.value.code == "photo_too_large"


def test_odd_dimensions_are_refused():
    with pytest.raises(ApplicationError) as exc:
        photo_check(upload("strip.png", image_bytes("PNG", size=(4, 400))))
    assert exc.value.code == "photo_dimensions"


def test_seventh_photo_is_refused():
    uploads = [upload(f"{i}.png", image_bytes(color=(i, i, i))) for i in range(7)]
    with pytest.raises(ApplicationError) as exc:
        photos_check(uploads)
    assert exc.value.code == "photo_count"
    assert len(photos_check(uploads[:6])) == 6


@pytest.mark.django_db
def test_report_stores_photos_once_under_their_hash(city):
    photos = photos_check([upload("a.png", image_bytes()), upload("again.png", image_bytes()),
                           upload("b.jpg", image_bytes("JPEG", color=(1, 2, 3)), "image/jpeg")])
    case = case_report(actor=city.resident, photos=photos, **report_fields(city))
    rows = list(Attachment.objects.filter(case=case).order_by("id"))
    assert [(r.content_type, r.width, r.height) for r in rows] == [("image/png", 64, 48), ("image/jpeg", 64, 48)]
    assert [r.file.name for r in rows] == [storage_name(photos[0]), storage_name(photos[2])]
    assert all(default_storage.exists(r.file.name) for r in rows)
    assert rows[0].uploaded_by == city.resident
    # a second request with the same photo shares the stored file
    other = case_report(actor=city.resident, photos=photos[:1], **report_fields(city))
    assert Attachment.objects.get(case=other).file.name == rows[0].file.name


@pytest.mark.django_db
def test_failed_report_leaves_no_case_no_row_no_file(city):
    photos = photos_check([upload("new.png", image_bytes(color=(9, 99, 199)))])
    name = storage_name(photos[0])
    assert not default_storage.exists(name)
    with pytest.raises(ApplicationError) as exc:
        case_report(actor=city.resident, photos=photos, **report_fields(city, address=""))
    assert exc.value.field == "address"
    assert (Case.objects.count(), Attachment.objects.count()) == (0, 0)
    assert not default_storage.exists(name)


@pytest.mark.django_db
def test_photo_view_checks_access(city, client):
    photos = photos_check([upload("a.png", image_bytes())])
    case = case_report(actor=city.resident, photos=photos, **report_fields(city))
    photo = Attachment.objects.get(case=case)
    full = f"/hotline/photos/{photo.public_id}/"
    thumb = f"/hotline/photos/{photo.public_id}/thumb/"
    assert client.get(full).status_code == 404  # not signed in
    client.force_login(city.other_resident)
    assert client.get(full).status_code == 404
    assert client.get(thumb).status_code == 404
    client.force_login(city.handler)  # not dispatched to the handler's unit
    assert client.get(full).status_code == 404
    client.force_login(city.resident)
    response = client.get(full)
    assert (response.status_code, response["Content-Type"], response.content) == (200, "image/png", photos[0].data)
    assert photo.sha256 == hashlib.sha256(response.content).hexdigest()
    assert response["Cache-Control"] == "private, max-age=3600"
    response = client.get(thumb)
    assert (response.status_code, response["Content-Type"]) == (200, "image/jpeg")
    assert Image.open(io.BytesIO(response.content)).size == (64, 48)
    advance(city, case, S.DISPATCHED)
    client.force_login(city.handler)  # now the unit's case
    assert client.get(full).status_code == 200
