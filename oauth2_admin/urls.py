from __future__ import annotations

from django.urls import path

from oauth2_admin import views

urlpatterns = [
    path("", views.overview, name="overview"),
    path("discovery/", views.discovery, name="discovery"),
    path("jwks/", views.jwks, name="jwks"),
]
