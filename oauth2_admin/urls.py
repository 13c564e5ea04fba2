"""Every /console page, namespaced "console:<feature>:<page>". A feature adds one include() here."""

from __future__ import annotations

from django.urls import include, path

app_name = "console"
urlpatterns = [
    path("", include("oauth2_admin.overview.urls")),
    path("clients/", include("oauth2_admin.clients.urls")),
    path("jwks/", include("oauth2_admin.keys.urls")),
    path("claims/", include("oauth2_admin.claims.urls")),
    path("", include("oauth2_admin.devtools.urls")),
    path("audit/", include("oauth2_admin.audit.urls")),
    path("api-keys/", include("oauth2_admin.apikeys.urls")),
]
