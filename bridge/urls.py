from __future__ import annotations

from django.urls import path

from bridge import views

urlpatterns = [
    path("api/hydra/bridge/error", views.hydra_error, name="bridge_error"),
    path("api/hydra/bridge/login", views.placeholder, {"step": "login"}, name="bridge_login"),
    path("api/hydra/bridge/consent", views.placeholder, {"step": "consent"}, name="bridge_consent"),
    path("api/hydra/bridge/logout", views.placeholder, {"step": "logout"}, name="bridge_logout"),
    path("api/hydra/bridge/logged-out", views.placeholder, {"step": "logged-out"}, name="bridge_logged_out"),
    path("auth/<slug:step>", views.placeholder, name="kratos_ui"),
]
