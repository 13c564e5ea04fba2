from __future__ import annotations

from django.urls import path

from oauth2_admin.devtools import views

app_name = "devtools"
urlpatterns = [
    path("discovery/", views.discovery, name="discovery"),
    # Public: the flow tester's and the demo client's redirect URI (manage.py seed_demo).
    path("devtools/callback", views.callback, name="callback"),
    path("devtools/callback/fragment", views.callback_fragment, name="callback_fragment"),
    path("devtools/flow/", views.flow, name="flow"),
    path("devtools/flow/start", views.flow_start, name="flow_start"),
    path("devtools/flow/client-credentials", views.client_credentials, name="client_credentials"),
    path("devtools/flow/front-channel", views.front_channel_start, name="front_channel_start"),
    path("devtools/flow/device", views.device_start, name="device_start"),
    path("devtools/flow/jwt-bearer", views.jwt_bearer_start, name="jwt_bearer_start"),
    path("devtools/flow/add-redirect", views.add_redirect, name="add_redirect"),
    path("devtools/flow/runs/<str:run_id>/", views.run_detail, name="run"),
    path("devtools/flow/runs/<str:run_id>/exchange", views.run_exchange, name="run_exchange"),
    path("devtools/flow/runs/<str:run_id>/jwt-bearer", views.jwt_bearer_exchange, name="jwt_bearer_exchange"),
    path("devtools/flow/runs/<str:run_id>/poll", views.run_poll, name="run_poll"),
    path("devtools/flow/runs/<str:run_id>/refresh", views.run_refresh, name="run_refresh"),
    path("devtools/flow/runs/<str:run_id>/revoke", views.run_revoke, name="run_revoke"),
    path("devtools/flow/runs/<str:run_id>/forget", views.run_forget, name="run_forget"),
    path("devtools/jwt/", views.jwt_debugger, name="jwt"),
    path("devtools/doctor/", views.doctor_page, name="doctor"),
    path("devtools/doctor/fix/<str:client_id>/<slug:code>", views.doctor_fix, name="doctor_fix"),
    path("devtools/snippets/", views.snippets_page, name="snippets"),
    path("devtools/snippets/<str:client_id>/fragment", views.client_snippets, name="client_snippets"),
]
