from __future__ import annotations

from django.urls import path

from oauth2_admin.devtools import views

app_name = "devtools"
urlpatterns = [
    path("discovery/", views.discovery, name="discovery"),
]
