from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView

import bridge.api  # noqa: F401  (registers the bridge's routes on the API)
import oauth2_admin.api  # noqa: F401  (registers the routers on the API)
from truss import views
from truss.api import api

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("console/", include("oauth2_admin.urls")),
    path("console/tenant/", views.switch_tenant, name="switch_tenant"),
    path("console/audit/", views.audit_log, name="audit_log"),
    path("console/api-keys/", views.api_keys, name="api_keys"),
    path("console/api-keys/<int:key_id>/revoke", views.api_key_revoke, name="api_key_revoke"),
    path("", RedirectView.as_view(pattern_name="overview"), name="home"),
    path("", include("bridge.urls")),
    path("", api.urls),
]
