"""URLs of the UI; the app's ``polos_django.urls`` mounts them at ``ui/`` (namespace ``polos_ui``)."""

from __future__ import annotations

from django.urls import path

from . import views

app_name = "polos_ui"

urlpatterns = [
    path("", views.executions, name="executions"),
    path("executions/<str:execution_id>/", views.execution_detail, name="execution"),
    path("executions/<str:execution_id>/cancel/", views.cancel_execution, name="cancel"),
    path("sessions/", views.session_list, name="sessions"),
    path("sessions/<str:session_id>/", views.session_detail, name="session"),
    path("registry/", views.registry_page, name="registry"),
    path("schedules/", views.schedules, name="schedules"),
    path("queues/", views.queues, name="queues"),
    path("events/", views.events, name="events"),
]
