"""Photos of a work order: checked by content, stored once under their SHA-256, served only
through an access-checked view (never a public media URL).

`photo_check` reads an upload and accepts it only when Pillow recognises it as JPEG, PNG or
WebP (the file name and the browser's content type are ignored), it is at most
`PHOTO_MAX_BYTES`, and its dimensions are sane (decoded, not just read from the header); the
photo is then re-encoded upright without metadata (no EXIF GPS position, camera serial or
anything hidden after the image) and stored under the SHA-256 of what is stored.
`case_report` registers a resident's request and stores its photos in one transaction; files
written for a request that then fails are removed again, so a refused request leaves no orphan
file and no orphan row.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from onecity.core.errors import ApplicationError, NotFound
from onecity.hotline.access import cases_visible_to
from onecity.hotline.models import Attachment, Case
from onecity.hotline.services.intake import case_register

PHOTO_MAX_COUNT = 6
PHOTO_MAX_BYTES = 5 * 1024 * 1024
PHOTO_MAX_SIDE = 12_000
PHOTO_MAX_PIXELS = 50_000_000
PHOTO_MIN_SIDE = 16
THUMB_SIDE = 320
FORMATS = {"JPEG": ("image/jpeg", "jpg"), "PNG": ("image/png", "png"), "WEBP": ("image/webp", "webp")}
STORAGE_DIR = "hotline/attachments"


@dataclass(frozen=True)
class CheckedPhoto:
    data: bytes
    sha256: str
    content_type: str
    extension: str
    width: int
    height: int
    original_name: str


def _refuse(message: str, code: str) -> ApplicationError:
    return ApplicationError(message, code=code, field="photos")


def photo_check(upload) -> CheckedPhoto:
    """Read and check one uploaded file (a Django UploadedFile or any object with read(), name, size)."""
    name = str(getattr(upload, "name", "") or "")[:200]
    size = getattr(upload, "size", None)
    if size is not None and size > PHOTO_MAX_BYTES:
        raise _refuse(_("“%(name)s” is larger than 5 MB. Please choose a smaller photo.") % {"name": name},
                      "photo_too_large")
    if hasattr(upload, "seek"):
        upload.seek(0)
    data = upload.read(PHOTO_MAX_BYTES + 1)
    if len(data) > PHOTO_MAX_BYTES:
        raise _refuse(_("“%(name)s” is larger than 5 MB. Please choose a smaller photo.") % {"name": name},
                      "photo_too_large")
    not_a_photo = _refuse(_("“%(name)s” is not a JPEG, PNG or WebP photo.") % {"name": name}, "photo_type")
    if not data:
        raise not_a_photo
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                if image.format not in FORMATS:
                    raise not_a_photo
                image.verify()
            with Image.open(io.BytesIO(data)) as image:  # verify() leaves the image unusable: decode again
                fmt = image.format
                width, height = image.size
                if width > PHOTO_MAX_SIDE or height > PHOTO_MAX_SIDE or width * height > PHOTO_MAX_PIXELS \
                        or width < PHOTO_MIN_SIDE or height < PHOTO_MIN_SIDE:
                    raise _refuse(_("“%(name)s” has unusual dimensions (%(w)d × %(h)d pixels). Please send a "
                                    "normal photo.") % {"name": name, "w": width, "h": height}, "photo_dimensions")
                image.load()
                clean, width, height = _reencode(image, fmt)
    except ApplicationError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError,
            Image.DecompressionBombWarning):
        raise not_a_photo from None
    content_type, extension = FORMATS[fmt]
    return CheckedPhoto(data=clean, sha256=hashlib.sha256(clean).hexdigest(), content_type=content_type,
                        extension=extension, width=width, height=height, original_name=name)


def _reencode(image: Image.Image, fmt: str) -> tuple[bytes, int, int]:
    """The photo drawn again in the same format, upright, without metadata: phone photos carry
    the GPS position and the camera's serial number in EXIF, which would tell a department who
    an anonymous reporter is; re-encoding also drops anything appended after the image data."""
    image = ImageOps.exif_transpose(image)
    if fmt == "JPEG" and image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    out = io.BytesIO()
    if fmt == "JPEG":
        image.save(out, format="JPEG", quality=90, optimize=True)
    elif fmt == "PNG":
        image.save(out, format="PNG", optimize=True)
    else:
        image.save(out, format="WEBP", quality=90)
    return out.getvalue(), image.width, image.height


def photos_check(uploads) -> list[CheckedPhoto]:
    """Check a list of uploads: at most PHOTO_MAX_COUNT, each one a real photo."""
    uploads = [u for u in (uploads or []) if u]
    if len(uploads) > PHOTO_MAX_COUNT:
        raise _refuse(_("You can attach at most %(max)d photos.") % {"max": PHOTO_MAX_COUNT}, "photo_count")
    return [photo_check(u) for u in uploads]


def storage_name(photo: CheckedPhoto) -> str:
    return f"{STORAGE_DIR}/{photo.sha256[:2]}/{photo.sha256}.{photo.extension}"


def _attach(*, case: Case, photos: list[CheckedPhoto], actor, written: list[str]) -> list[Attachment]:
    now = timezone.now()
    rows, seen = [], set()
    for photo in photos:
        if photo.sha256 in seen:  # the same photo chosen twice: keep it once
            continue
        seen.add(photo.sha256)
        name = storage_name(photo)
        if not default_storage.exists(name):
            saved = default_storage.save(name, ContentFile(photo.data))
            written.append(saved)
            name = saved
        rows.append(Attachment.objects.create(
            case=case, sha256=photo.sha256, content_type=photo.content_type, size=len(photo.data),
            width=photo.width, height=photo.height, file=name, original_name=photo.original_name,
            uploaded_by=actor if getattr(actor, "pk", None) else None, created_at=now))
    return rows


def case_report(*, actor, photos: list[CheckedPhoto] | None = None, **fields) -> Case:
    """A resident's request with its photos (checked by `photos_check`), all or nothing: the case,
    its event and its attachment rows commit together; files written for it are deleted again
    when anything fails."""
    photos = list(photos or [])
    if len({p.sha256 for p in photos}) > PHOTO_MAX_COUNT:
        raise _refuse(_("You can attach at most %(max)d photos.") % {"max": PHOTO_MAX_COUNT}, "photo_count")
    written: list[str] = []
    try:
        with transaction.atomic():
            case = case_register(actor=actor, **fields)
            _attach(case=case, photos=photos, actor=actor, written=written)
    except BaseException:
        for name in written:
            if not Attachment.objects.filter(file=name).exists():
                default_storage.delete(name)
        raise
    return case


def attachment_get_for_actor(*, actor, attachment_id: str) -> Attachment:
    """An attachment of a case `actor` may see (NotFound otherwise)."""
    attachment = (Attachment.objects.filter(public_id=str(attachment_id or ""),
                                            case__in=cases_visible_to(actor))
                  .select_related("case").first())
    if attachment is None:
        raise NotFound()
    return attachment


def attachment_thumbnail(attachment: Attachment, *, side: int = THUMB_SIDE) -> tuple[bytes, str]:
    """A JPEG thumbnail (longest side `side`) of a stored photo."""
    with default_storage.open(attachment.file.name, "rb") as fh, Image.open(fh) as original:
        image = ImageOps.exif_transpose(original)  # phones store rotation in EXIF
        image.thumbnail((side, side))
        if image.mode not in ("RGB", "L"):
            image = image.convert("RGB")
        out = io.BytesIO()
        image.save(out, format="JPEG", quality=80)
    return out.getvalue(), "image/jpeg"
