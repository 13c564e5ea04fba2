from __future__ import annotations

from django.urls import path

from oauth2_admin.consents import views

app_name = "consents"
urlpatterns = [
    path("", views.find_person, name="list"),
    path("people/<str:subject>/", views.person_detail, name="person"),
    path("people/<str:subject>/revoke", views.revoke, name="revoke"),
    path("people/<str:subject>/sessions/<str:session_id>/end", views.end_session, name="end_session"),
    path("clients/<str:client_id>/", views.client_people, name="client_people"),
    path("clients/<str:client_id>/people.csv", views.client_people_csv, name="client_people_csv"),
    path("clients/<str:client_id>/revoke-all", views.bulk_revoke, name="bulk_revoke"),
    path("clients/<str:client_id>/jobs/<int:job_id>/", views.job_detail, name="job"),
    path("clients/<str:client_id>/jobs/<int:job_id>/step", views.job_step, name="job_step"),
]
