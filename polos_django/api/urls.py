"""URLs of the API, relative to ``/api/v1/`` (see ``polos_django.urls``).

Paths take an optional trailing slash: the Polos SDK calls them without one.
"""

from __future__ import annotations

from django.urls import re_path
from drf_spectacular.views import SpectacularSwaggerView

from . import async_views, status_views, views
from .schedules import urlpatterns as schedule_urlpatterns
from .schema import SchemaView

ID = r"(?P<execution_id>[^/]+)"
WORKFLOW = r"(?P<workflow_id>[^/]+)"

urlpatterns = [
    re_path(r"^workflows/?$", views.WorkflowListView.as_view(), name="polos-workflows"),
    re_path(r"^workflows/batch_run/?$", views.WorkflowBatchRunView.as_view(), name="polos-batch-run"),
    re_path(rf"^workflows/{WORKFLOW}/run/?$", async_views.WorkflowRunView.as_view(), name="polos-run"),
    re_path(
        rf"^workflows/{WORKFLOW}/runs/{ID}/events/stream/?$",
        async_views.WorkflowRunStreamView.as_view(),
        name="polos-run-stream",
    ),
    re_path(r"^executions/?$", views.ExecutionListView.as_view(), name="polos-executions"),
    re_path(rf"^executions/{ID}/?$", views.ExecutionDetailView.as_view(), name="polos-execution"),
    re_path(rf"^executions/{ID}/cancel/?$", views.ExecutionCancelView.as_view(), name="polos-cancel"),
    re_path(rf"^executions/{ID}/resume/?$", views.ExecutionResumeView.as_view(), name="polos-resume"),
    re_path(rf"^executions/{ID}/result/?$", async_views.ExecutionResultView.as_view(), name="polos-result"),
    re_path(r"^events/?$", views.EventListView.as_view(), name="polos-events"),
    re_path(r"^events/publish/?$", views.EventPublishView.as_view(), name="polos-publish"),
    re_path(r"^events/batch_publish/?$", views.EventBatchPublishView.as_view(), name="polos-batch-publish"),
    re_path(r"^events/stream/?$", async_views.EventStreamView.as_view(), name="polos-stream"),
    re_path(r"^workers/?$", status_views.WorkerListView.as_view(), name="polos-workers"),
    re_path(r"^queues/?$", status_views.QueueListView.as_view(), name="polos-queues"),
    re_path(r"^schema/?$", SchemaView.as_view(), name="polos-schema"),
    re_path(r"^docs/?$", SpectacularSwaggerView.as_view(url_name="polos-schema"), name="polos-docs"),
    *schedule_urlpatterns,
]
