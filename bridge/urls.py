from __future__ import annotations

from django.urls import path

from bridge import selfservice, views

app_name = "bridge"
urlpatterns = [
    # Hydra's urls.login / consent / logout / error / post_logout_redirect / device.* (ory/hydra.yml).
    path("api/hydra/bridge/login", views.login, name="login"),
    path("api/hydra/bridge/consent", views.consent, name="consent"),
    path("api/hydra/bridge/logout", views.logout, name="logout"),
    path("api/hydra/bridge/logged-out", views.logged_out, name="logged_out"),
    path("api/hydra/bridge/error", views.error, name="error"),
    path("api/hydra/bridge/device", views.device, name="device"),
    path("api/hydra/bridge/device/done", views.device_done, name="device_done"),
    path("api/hydra/bridge/brand/<slug:slug>.css", views.brand_css, name="brand_css"),
    # Kratos's selfservice.flows.*.ui_url (ory/kratos.yml).
    path("auth/error", selfservice.flow_error, name="kratos_error"),
    path("auth/<slug:kind>", selfservice.flow, name="kratos_flow"),
]
