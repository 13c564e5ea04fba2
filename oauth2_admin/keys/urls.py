from __future__ import annotations

from django.urls import path

from oauth2_admin.keys import views

app_name = "keys"
urlpatterns = [
    path("", views.jwks, name="jwks"),
    path("new", views.create, name="create"),
    path("rotations/new", views.rotate, name="rotate"),
    path("rotations/<int:rotation_id>", views.rotation_step, name="rotation_step"),
    path("<str:set_id>/<str:kid>/delete", views.delete, name="delete"),
]
