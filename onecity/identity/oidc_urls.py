"""The OIDC provider's endpoints, in DOT's `oauth2_provider` namespace.

The issuer is the site root (settings.BASE_URL), so the discovery document lives at
`/.well-known/openid-configuration`; the protocol endpoints are under `/o/`. Only what
OneCity offers is mounted: DOT's application-management pages, device flow, dynamic client
registration and RFC 8414 metadata are not (clients are registered with
`onecity oidc client create`).
"""

from django.urls import include, path
from oauth2_provider import views as dot_views

from onecity.identity.views import oidc as views

oauth2_patterns = [
    path(".well-known/openid-configuration", views.DiscoveryView.as_view(), name="oidc-connect-discovery-info"),
    path("o/authorize/", views.AuthorizeView.as_view(), name="authorize"),
    path("o/token/", dot_views.TokenView.as_view(), name="token"),
    path("o/revoke_token/", dot_views.RevokeTokenView.as_view(), name="revoke-token"),
    path("o/introspect/", views.IntrospectView.as_view(), name="introspect"),
    path("o/userinfo/", dot_views.UserInfoView.as_view(), name="user-info"),
    path("o/.well-known/jwks.json", dot_views.JwksInfoView.as_view(), name="jwks-info"),
    path("o/logout/", views.LogoutView.as_view(), name="rp-initiated-logout"),
]

urlpatterns = [
    path("", include((oauth2_patterns, "oauth2_provider"), namespace="oauth2_provider")),
]
