"""Identity endpoints of the partner API (/api/v1/): organizations and identity-code checks.

Thin: parse and validate (ninja schemas), call a selector or service, format the result.
Authentication (client-credentials bearer token with scope `api`) is the API-wide default
set in onecity/api.py.
"""

from datetime import datetime

from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from ninja.pagination import PageNumberPagination, paginate

from onecity.core.errors import NotFound
from onecity.core.ratelimit import ratelimit_hit
from onecity.identity.enums import OrganizationKind, PayeeType
from onecity.identity.models import Organization
from onecity.identity.services.idcode import MAX_GATE_CHARS, MAX_PAYLOAD_CHARS, IdcodeReason, idcode_verify

router = Router(tags=["identity"])


class ErrorOut(Schema):
    code: str = Field(description="Stable machine-readable error code, e.g. `not_found`, `insufficient_scope`.")
    message: str = Field(description="A sentence for people, in the language of the Accept-Language header.")
    field: str | None = Field(None, description="The request field the error is about, when there is one.")


class OrganizationOut(Schema):
    public_id: str
    name: str = Field(description="Chinese name")
    name_en: str = Field(description="English name (may be empty)")
    short_name: str
    kind: OrganizationKind
    payee_type: PayeeType | None = Field(None, description="For payee units only")
    parent_id: str | None = Field(None, description="public_id of the parent organization")
    uscc: str = Field(description="Unified social credit code (统一社会信用代码)")
    region_code: str = Field(description="Six-digit administrative division code")

    @staticmethod
    def resolve_payee_type(obj: Organization) -> str | None:
        return obj.payee_type or None

    @staticmethod
    def resolve_parent_id(obj: Organization) -> str | None:
        return obj.parent.public_id if obj.parent_id else None


class OrganizationFilter(Schema):
    kind: OrganizationKind | None = Field(None, description="Only organizations of this kind")
    region_code: str | None = Field(None, pattern=r"^[0-9]{6}$", description="Only organizations in this region")


class IdcodeVerifyIn(Schema):
    payload: str = Field(max_length=MAX_PAYLOAD_CHARS, description="The text of the scanned QR code")
    gate: str | None = Field(
        None,
        max_length=MAX_GATE_CHARS,
        description="Your gate or device id. With a gate id, a code is accepted only once at that gate; "
        "a second scan there gives `already_used`.",
    )


class IdcodeVerifyOut(Schema):
    valid: bool
    reason: IdcodeReason
    message: str
    masked_name: str = Field(description="The holder's masked legal name (empty unless the signature checked out)")
    subject: str = Field(description="Pseudonymous holder reference, stable per citizen")
    expires_at: datetime | None


def _organizations(kind: str | None, region_code: str | None):
    queryset = Organization.objects.filter(is_active=True).select_related("parent").order_by("kind", "region_code",
                                                                                               "name", "id")
    if kind:
        queryset = queryset.filter(kind=kind)
    if region_code:
        queryset = queryset.filter(region_code=region_code)
    return queryset


@router.get("/organizations", response=list[OrganizationOut], summary="List organizations",
            operation_id="organizations_list")
@paginate(PageNumberPagination, page_size=50, max_page_size=200)
def organizations_list(request, filters: Query[OrganizationFilter]):
    """Active departments, district governments, sub-units and payee units, 50 a page."""
    return _organizations(filters.kind, filters.region_code)


@router.get("/organizations/{public_id}", response={200: OrganizationOut, 404: ErrorOut},
            summary="Get an organization", operation_id="organizations_get")
def organizations_get(request, public_id: str):
    organization = _organizations(None, None).filter(public_id=public_id).first()
    if organization is None:
        raise NotFound(_("No organization has this id."))
    return organization


@router.post("/identity-codes/verify", response={200: IdcodeVerifyOut, 400: ErrorOut, 429: ErrorOut},
             summary="Verify an identity code", operation_id="identity_codes_verify")
def identity_codes_verify(request, body: IdcodeVerifyIn):
    """Check a citizen's identity code (入口身份码). An invalid or expired code is not an error:
    the answer is 200 with `valid: false` and a `reason`. Gates can also verify offline with the
    public keys at `/.well-known/idcode-keys.json`."""
    ratelimit_hit("idcode_verify", f"client:{request.auth.client_id}")
    result = idcode_verify(payload=body.payload, gate=body.gate)
    return result.as_dict()
