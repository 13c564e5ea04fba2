from __future__ import annotations

from django.urls import path

from oauth2_admin.overview import views

urlpatterns = [
    path("", views.overview, name="overview"),
    path("tenant/", views.switch_tenant, name="switch_tenant"),
    path("bridge-check/", views.check_bridge, name="bridge_check"),
]
