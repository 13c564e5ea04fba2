from __future__ import annotations

from django.urls import path

from oauth2_admin.trust import views

app_name = "trust"
urlpatterns = [
    path("", views.trust_list, name="list"),
    path("new", views.trust_create, name="create"),
    path("<str:trust_id>/", views.trust_detail, name="detail"),
    path("<str:trust_id>/delete", views.trust_delete, name="delete"),
]
