"""The web UI: staff pages to watch executions, agent sessions, the registry, schedules, queues and events.

Server-rendered Django templates with a little vanilla JavaScript (no build step).  Include
``polos_django.ui.urls`` (the app's ``polos_django.urls`` mounts it at ``ui/``) and add
``polos_django.ui.routing.websocket_urlpatterns`` behind Channels' ``AuthMiddlewareStack`` for the live
timeline.  Every page needs a logged-in staff user (Django admin's login).
"""
