from __future__ import annotations

from django.urls import path

from bridge import console, selfservice, views

urlpatterns = [
    # Hydra's urls.login / consent / logout / error / post_logout_redirect (ory/hydra.yml).
    path("api/hydra/bridge/login", views.login, name="bridge_login"),
    path("api/hydra/bridge/consent", views.consent, name="bridge_consent"),
    path("api/hydra/bridge/logout", views.logout, name="bridge_logout"),
    path("api/hydra/bridge/logged-out", views.logged_out, name="bridge_logged_out"),
    path("api/hydra/bridge/error", views.error, name="bridge_error"),
    path("api/hydra/bridge/device", views.device, name="bridge_device"),
    path("api/hydra/bridge/brand/<slug:slug>.css", views.brand_css, name="bridge_brand_css"),
    # Kratos's selfservice.flows.*.ui_url (ory/kratos.yml).
    path("auth/error", selfservice.flow_error, name="kratos_error"),
    path("auth/<slug:kind>", selfservice.flow, name="kratos_flow"),
    # Console: the tenant's custom claims.
    path("console/claims/", console.claims_config, name="claims_config"),
    path("console/claims/preview", console.claims_preview, name="claims_preview"),
]
