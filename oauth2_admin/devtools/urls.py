from __future__ import annotations

from django.urls import path

from oauth2_admin.devtools import views

app_name = "devtools"
urlpatterns = [
    path("discovery/", views.discovery, name="discovery"),
    # Public: the demo client's redirect URI (manage.py seed_demo), where an end user's sign-in ends.
    path("devtools/callback", views.callback, name="callback"),
]
