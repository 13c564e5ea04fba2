from __future__ import annotations

from django.urls import path

from oauth2_admin.tokens import views

app_name = "tokens"
urlpatterns = [
    path("", views.token_list, name="list"),
    path("revoke", views.token_revoke, name="revoke"),
    path("cleanup", views.cleanup, name="cleanup"),
]
