from __future__ import annotations

from django.urls import path

from oauth2_admin.keys import views

app_name = "keys"
urlpatterns = [
    path("", views.jwks, name="jwks"),
]
