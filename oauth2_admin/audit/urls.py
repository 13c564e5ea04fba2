from __future__ import annotations

from django.urls import path

from oauth2_admin.audit import views

app_name = "audit"
urlpatterns = [
    path("", views.log, name="log"),
]
