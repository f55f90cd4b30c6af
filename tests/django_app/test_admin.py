"""The Django admin pages for executions."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission, User

from polos_django import client
from polos_django.models import Execution


@pytest.fixture
def staff(db):
    user = User.objects.create_user("staff", password="pw", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=["view_execution", "view_event"]))
    return user


@pytest.mark.django_db(transaction=True)
def test_changelist_and_detail_render():
    admin = User.objects.create_superuser("root", password="pw")
    from django.test import Client

    browser = Client()
    browser.force_login(admin)
    handle = client.invoke("dj_steps", {"steps": 1}, queue_name="idle-lane")  # stays queued: no worker there
    page = browser.get("/admin/polos/execution/?status__exact=queued")
    assert page.status_code == 200 and handle.id in page.content.decode()
    detail = browser.get(f"/admin/polos/execution/{handle.id}/change/")
    assert detail.status_code == 200 and "dj_steps" in detail.content.decode()
    events = browser.get(f"/admin/polos/event/?topic={handle.topic}")
    assert events.status_code == 200


@pytest.mark.django_db(transaction=True)
def test_cancel_action_needs_permission(staff):
    from django.test import Client

    handle = client.invoke("dj_steps", {"steps": 1}, queue_name="idle-lane")  # stays queued: no worker there
    browser = Client()
    browser.force_login(staff)
    page = browser.get("/admin/polos/execution/")
    assert "cancel_executions" not in page.content.decode()
    staff.user_permissions.add(Permission.objects.get(codename="cancel_execution"))
    browser.force_login(User.objects.get(pk=staff.pk))
    response = browser.post(
        "/admin/polos/execution/", {"action": "cancel_executions", "_selected_action": [handle.id]}, follow=True
    )
    assert response.status_code == 200
    assert Execution.objects.get(id=handle.id).status == "cancelled"
    assert "Cancelled 1 execution" in response.content.decode()


@pytest.mark.django_db(transaction=True)
def test_api_key_admin_revokes_and_never_shows_the_hash():
    from django.test import Client

    from polos_django import keys
    from polos_django.models import ApiKey, Project

    project = Project.objects.create(name="acme")
    key, plaintext = keys.create_key(project, "ci")
    browser = Client()
    browser.force_login(User.objects.create_superuser("root", password="pw"))
    response = browser.get(f"/admin/polos/apikey/{key.pk}/change/")
    assert response.status_code == 200, (  # a redirect: to the login page, or the key is gone
        response.status_code,
        response.get("Location"),
        ApiKey.objects.filter(pk=key.pk).exists(),
        User.objects.filter(username="root").exists(),
    )
    page = response.content.decode()
    assert key.prefix in page and key.hashed_key not in page and plaintext not in page
    browser.post("/admin/polos/apikey/", {"action": "revoke", "_selected_action": [key.pk]}, follow=True)
    assert ApiKey.objects.get(pk=key.pk).revoked_at is not None
    assert keys.verify_key(plaintext) is None


@pytest.mark.django_db(transaction=True)
def test_event_triggers_are_listed_and_can_be_deleted_but_not_edited():
    from django.test import Client

    from polos_django.models import EventTrigger

    admin = User.objects.create_superuser("root", password="pw")
    trigger = EventTrigger.objects.create(workflow_id="gone_from_the_code", topic="orders/new")
    browser = Client()
    browser.force_login(admin)
    page = browser.get("/admin/polos/eventtrigger/")
    assert page.status_code == 200 and "gone_from_the_code" in page.content.decode()
    assert browser.get("/admin/polos/eventtrigger/add/").status_code == 403
    confirm = browser.post(f"/admin/polos/eventtrigger/{trigger.pk}/delete/", {"post": "yes"})
    assert confirm.status_code == 302 and not EventTrigger.objects.filter(pk=trigger.pk).exists()
