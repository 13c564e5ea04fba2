from __future__ import annotations

from django.urls import path

from oauth2_admin.scopes import views

app_name = "scopes"
urlpatterns = [
    path("", views.scope_list, name="list"),
    path("new", views.scope_create, name="create"),
    path("<int:scope_id>/", views.scope_edit, name="edit"),
    path("<int:scope_id>/delete", views.scope_delete, name="delete"),
]
