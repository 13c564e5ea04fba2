"""Every route, explicitly: a feature adds its include() here (console) or its router in truss/api.py."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView

from oauth2_admin.trust import hook as trust_hook
from truss import views
from truss.api import api

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("metrics", views.metrics_endpoint, name="metrics"),
    path("hooks/hydra/token", trust_hook.token_hook, name="trust_token_hook"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("console/", include("oauth2_admin.urls")),
    path("", RedirectView.as_view(pattern_name="console:overview"), name="home"),
    path("", include("bridge.urls")),
    path("", api.urls),
]
