"""Every route, explicitly: a feature adds its include() here (console) or its router in truss/api.py."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView

from truss import views
from truss.api import api

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("console/", include("oauth2_admin.urls")),
    path("", RedirectView.as_view(pattern_name="console:overview"), name="home"),
    path("", include("bridge.urls")),
    path("", api.urls),
]
