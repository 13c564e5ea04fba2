from __future__ import annotations

from django.urls import path

from oauth2_admin.apikeys import views

app_name = "apikeys"
urlpatterns = [
    path("", views.key_list, name="list"),
    path("<int:key_id>/revoke", views.revoke, name="revoke"),
]
