"""The partner REST API under /api/v1/ (django-ninja); OpenAPI at /api/v1/openapi.json and
interactive docs at /api/v1/docs (Swagger UI served from ninja's bundled static files, no CDN).
Each domain app adds its router here.

Authentication for every endpoint unless a router says otherwise: an OAuth 2.0
client-credentials access token with scope `api` (onecity.identity.api_auth). Errors are JSON
`{"code": ..., "message": ...}` with the message in the caller's language (Accept-Language).
"""

from __future__ import annotations

from django.http import Http404
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from onecity.core.errors import ApplicationError, RateLimited
from onecity.identity.api_auth import ClientCredentialsBearer
from onecity.identity.apis import router as identity_router
from onecity.payments.apis import router as payments_router

api = NinjaAPI(
    title="OneCity partner API",
    version="1",
    description="REST API for partner apps and payee systems. Authenticate with an OAuth 2.0 "
    "client-credentials access token (Authorization: Bearer ...) from `POST /o/token/` "
    "(grant_type=client_credentials, scope=api, client id and secret by HTTP Basic). "
    "Errors are JSON objects `{\"code\": ..., \"message\": ...}`; messages follow the "
    "Accept-Language header (zh-Hans or en).",
    urls_namespace="api-v1",
    auth=ClientCredentialsBearer(),
)


def _error(request, *, status: int, code: str, message, field: str | None = None, headers: dict | None = None,
           extra: dict | None = None):
    body = {"code": code, "message": str(message)}
    if field:
        body["field"] = field
    body.update(extra or {})
    response = api.create_response(request, body, status=status)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


@api.exception_handler(ApplicationError)
def application_error(request, exc: ApplicationError):
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, RateLimited) else None
    return _error(request, status=exc.status, code=exc.code, message=exc.message, field=exc.field, headers=headers)


@api.exception_handler(AuthenticationError)
def authentication_error(request, exc: AuthenticationError):
    challenge = 'Bearer realm="OneCity API"'
    if request.headers.get("Authorization"):
        challenge += ', error="invalid_token"'
    return _error(
        request,
        status=401,
        code="unauthorized",
        message=_("Authenticate with a valid client-credentials access token (Authorization: Bearer …)."),
        headers={"WWW-Authenticate": challenge},
    )


@api.exception_handler(ValidationError)
def validation_error(request, exc: ValidationError):
    def field_of(error: dict) -> str:
        skip = {"body", "query", "path", "payload", "filters"}
        return ".".join(str(part) for part in error.get("loc", ()) if part not in skip)

    errors = [{"field": field_of(e), "type": e.get("type", ""), "detail": e.get("msg", "")} for e in exc.errors]
    return _error(request, status=422, code="invalid",
                  message=_("The request is not valid: check the fields listed in “errors”."),
                  field=errors[0]["field"] if errors else None, extra={"errors": errors})


@api.exception_handler(Http404)
def not_found(request, exc: Http404):
    return _error(request, status=404, code="not_found", message=_("Not found."))


@api.exception_handler(HttpError)
def http_error(request, exc: HttpError):
    codes = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 429: "rate_limited"}
    return _error(request, status=exc.status_code, code=codes.get(exc.status_code, "http_error"), message=str(exc))


api.add_router("/", identity_router)
api.add_router("/", payments_router)
