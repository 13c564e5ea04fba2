from __future__ import annotations

from django.urls import path

from oauth2_admin.hygiene import views

app_name = "hygiene"
urlpatterns = [
    path("", views.report, name="report"),
    path("refresh", views.refresh, name="refresh"),
    path("progress", views.progress, name="progress"),
    path("thresholds", views.thresholds, name="thresholds"),
    path("clients/<str:client_id>/findings", views.client_findings, name="client_findings"),
    path("clients/<str:client_id>/fix/<slug:rule>", views.fix, name="fix"),
    path("clients/<str:client_id>/history", views.client_history, name="history"),
    path("clients/<str:client_id>/versions/<int:number>/restore", views.restore, name="restore"),
    path("clients/<str:client_id>/drift", views.drift, name="drift"),
    path("clients/<str:client_id>/drift/adopt", views.drift_adopt, name="drift_adopt"),
    path("clients/<str:client_id>/drift/restore", views.drift_restore, name="drift_restore"),
]
