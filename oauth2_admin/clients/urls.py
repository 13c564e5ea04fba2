from __future__ import annotations

from django.urls import path

from oauth2_admin.clients import views

app_name = "clients"
urlpatterns = [
    path("", views.client_list, name="list"),
    path("new", views.client_create, name="create"),
    path("check-uris", views.check_uris, name="check_uris"),
    path("<str:client_id>/", views.client_detail, name="detail"),
    path("<str:client_id>/credentials", views.client_credentials, name="credentials"),
    path("<str:client_id>/security", views.client_security, name="security"),
    path("<str:client_id>/history", views.client_history, name="history"),
    path("<str:client_id>/people", views.client_people, name="people"),
    path("<str:client_id>/quickstart", views.client_quickstart, name="quickstart"),
    path("<str:client_id>/edit", views.client_edit, name="edit"),
    path("<str:client_id>/tokens", views.client_token_config, name="token_config"),
    path("<str:client_id>/secret", views.client_rotate_secret, name="rotate_secret"),
    path("<str:client_id>/revoke-tokens", views.client_revoke_tokens, name="revoke_tokens"),
    path("<str:client_id>/delete", views.client_delete, name="delete"),
]
