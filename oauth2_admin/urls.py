"""Every /console page, namespaced "console:<feature>:<page>". A feature adds one include() here."""

from __future__ import annotations

from django.urls import include, path

app_name = "console"
urlpatterns = [
    path("", include("oauth2_admin.overview.urls")),
    path("clients/", include("oauth2_admin.clients.urls")),
    path("hygiene/", include("oauth2_admin.hygiene.urls")),
    path("tokens/", include("oauth2_admin.tokens.urls")),
    path("jwks/", include("oauth2_admin.keys.urls")),
    path("trust/", include("oauth2_admin.trust.urls")),
    path("claims/", include("oauth2_admin.claims.urls")),
    path("scopes/", include("oauth2_admin.scopes.urls")),
    path("", include("oauth2_admin.devtools.urls")),
    path("audit/", include("oauth2_admin.audit.urls")),
    path("api-keys/", include("oauth2_admin.apikeys.urls")),
    path("consents/", include("oauth2_admin.consents.urls")),
]
