"""URLs of the Slack endpoints (included by ``polos_django.urls``): set them as the Interactivity
Request URL and the Events API Request URL of your Slack app."""

from __future__ import annotations

from django.urls import path

from . import slack_views

app_name = "polos_notify"

urlpatterns = [
    path("polos/slack/interactions/", slack_views.interactions, name="slack-interactions"),
    path("polos/slack/events/", slack_views.events, name="slack-events"),
]
