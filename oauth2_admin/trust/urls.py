from __future__ import annotations

from django.urls import path

from oauth2_admin.trust import views

app_name = "trust"
urlpatterns = [
    path("", views.trust_list, name="list"),
    path("new", views.trust_create, name="create"),
    path("check", views.trust_check, name="check"),
    path("check/<str:grant_id>/remove", views.trust_orphan_remove, name="orphan_remove"),
    path("<str:trust_id>/", views.trust_detail, name="detail"),
    path("<str:trust_id>/delete", views.trust_delete, name="delete"),
]
