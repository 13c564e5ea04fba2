from __future__ import annotations

from django.urls import path

from oauth2_admin.claims import views

app_name = "claims"
urlpatterns = [
    path("", views.config, name="config"),
    path("preview", views.preview, name="preview"),
]
