"""The approval page: GET shows the suspend's form, POST answers it (CSRF-protected, once).

Forged, expired, used and closed links get a page that says so (404 / 410 / 200), never a stack
trace. Responses are never cached, never framed, and send a ``Referer`` only to this site: the URL
is the credential (``no-referrer`` would make browsers post ``Origin: null``, failing the CSRF check).
"""

from __future__ import annotations

import logging
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_deny
from django.views.decorators.csrf import csrf_protect

from polos.exceptions import (
    AlreadyAnsweredError,
    ApprovalLinkError,
    ExecutionNotFoundError,
    NotResumableError,
)

from ..models import ShortLink
from . import links, service
from .display import context_items
from .forms import SuspendForm

logger = logging.getLogger("polos.approvals")
TEMPLATES = "polos/approvals/"


def _page(request: HttpRequest, name: str, context: dict[str, Any], status: int = 200) -> HttpResponse:
    response = render(request, TEMPLATES + name, context, status=status)
    response["Referrer-Policy"] = "same-origin"
    response["X-Robots-Tag"] = "noindex"
    return response


def _problem(request: HttpRequest, status: int, title: str, message: str) -> HttpResponse:
    return _page(request, "problem.html", {"title": title, "message": message, "status": status}, status)


def _answerer(request: HttpRequest, link: links.ApprovalLink) -> str:
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return str(user.get_username())
    return link.recipient or "someone with the approval link"


@never_cache
@xframe_options_deny
@csrf_protect
def approval_page(request: HttpRequest, token: str) -> HttpResponse:
    """The page of one suspend (``_approval_url``)."""
    try:
        link = links.read_token(token, allow_expired=True)
    except ApprovalLinkError:
        return _problem(
            request,
            404,
            "This link is not valid",
            "The approval link was changed or was not issued by this site. Open the link exactly as you "
            "received it, or ask for a new one.",
        )
    try:
        suspend = service.find_suspend(link.execution_id, link.step_key)
    except ExecutionNotFoundError:
        return _problem(request, 404, "Nothing to answer", "The request this link answers no longer exists.")
    if suspend.state == service.PENDING and link.expired:
        suspend.state = service.EXPIRED
    if suspend.state != service.PENDING:
        return _closed(request, suspend, link)
    if request.method == "POST":
        form = SuspendForm(suspend.spec, request.POST)
        if form.is_valid():
            try:
                service.answer(
                    link.execution_id,
                    link.step_key,
                    form.resume_data(),
                    answered_by=_answerer(request, link),
                    channel="page",
                )
            except (AlreadyAnsweredError, NotResumableError, ExecutionNotFoundError):
                return _closed(request, service.find_suspend(link.execution_id, link.step_key), link)
            return HttpResponseRedirect(f"{request.path}?answered=1")
        status = 400
    elif request.method in ("GET", "HEAD"):
        form = SuspendForm(suspend.spec)
        status = 200
    else:
        return _problem(request, 405, "Not allowed", "Open this page in a browser to answer the request.")
    return _page(
        request,
        "page.html",
        {
            "suspend": suspend,
            "spec": suspend.spec,
            "form": form,
            "context_items": context_items(suspend.spec.context),
            "expires_at": suspend.expires_at or link.expires_at,
            "execution": suspend.execution,
            "source": suspend.data.get("_source"),
            "tool": suspend.data.get("_tool"),
        },
        status,
    )


def _closed(request: HttpRequest, suspend: service.Suspend, link: links.ApprovalLink) -> HttpResponse:
    just_answered = request.GET.get("answered") == "1" and suspend.state == service.ANSWERED
    status = 200 if suspend.state == service.ANSWERED else 410
    return _page(
        request,
        "closed.html",
        {
            "suspend": suspend,
            "spec": suspend.spec,
            "just_answered": just_answered,
            "expires_at": suspend.expires_at or link.expires_at,
            "now": timezone.now(),
        },
        status,
    )


@never_cache
def short_link(request: HttpRequest, code: str) -> HttpResponse:
    """``/polos/a/<code>/``: the short link of an SMS, redirecting to the approval page."""
    row = ShortLink.objects.filter(code=code).first()
    if row is None:
        return _problem(request, 404, "This link is not valid", "Check the link in your message, or ask for a new one.")
    try:
        links.read_token(row.token, allow_expired=True)  # the page itself explains an expired link
    except ApprovalLinkError:
        return _problem(request, 404, "This link is not valid", "Ask for a new link.")
    response = HttpResponseRedirect(f"{links.approval_path()}{row.token}/")
    response["Referrer-Policy"] = "same-origin"
    return response
