from __future__ import annotations

from django.urls import path

from oauth2_admin import client_views, views

urlpatterns = [
    path("", views.overview, name="overview"),
    path("discovery/", views.discovery, name="discovery"),
    path("jwks/", views.jwks, name="jwks"),
    path("clients/", client_views.client_list, name="clients"),
    path("clients/new", client_views.client_create, name="client_create"),
    path("clients/<str:client_id>/", client_views.client_detail, name="client_detail"),
    path("clients/<str:client_id>/edit", client_views.client_edit, name="client_edit"),
    path("clients/<str:client_id>/tokens", client_views.client_token_config, name="client_token_config"),
    path("clients/<str:client_id>/secret", client_views.client_rotate_secret, name="client_rotate_secret"),
    path("clients/<str:client_id>/delete", client_views.client_delete, name="client_delete"),
]
