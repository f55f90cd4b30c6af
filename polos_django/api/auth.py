"""API-key authentication: ``Authorization: Bearer <key>`` plus the ``X-Project-ID`` header.

A key belongs to one project.  ``X-Project-ID`` may be left out (the key's project is used); when it
is given it must name the key's project (else 403 ``forbidden``), so a key never reads or writes
another project's executions or events.  A missing, malformed, unknown or revoked key is 401
``unauthenticated``.  The same rules apply to the HTTP API, the SSE streams and the websockets.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from ..keys import averify_key, verify_key
from .errors import ApiError

PROJECT_HEADER = "HTTP_X_PROJECT_ID"


@dataclass(frozen=True)
class ApiPrincipal:
    """Who is calling: a project, through one of its API keys (``request.user`` of the API views)."""

    project_id: str
    key_id: str
    is_authenticated: bool = True
    is_anonymous: bool = False
    is_active: bool = True
    is_staff: bool = False

    @property
    def pk(self) -> str:
        return self.key_id

    def __str__(self) -> str:
        return f"API key {self.key_id} of project {self.project_id}"


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header (``None`` when there is no header)."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "unauthenticated", "the Authorization header must read 'Bearer <API key>'")
    return token.strip()


def _principal(key: Any, project_id: str | None) -> ApiPrincipal:
    if key is None:
        raise ApiError(401, "unauthenticated", "the API key is unknown or revoked")
    if project_id and project_id != key.project_id:
        raise ApiError(
            403,
            "forbidden",
            f"this API key belongs to another project than {project_id!r}; use the key created for that project",
        )
    return ApiPrincipal(project_id=key.project_id, key_id=key.pk)


def authenticate(token: str, project_id: str | None) -> ApiPrincipal:
    """Check a key and the requested project (raises :class:`ApiError` 401/403)."""
    return _principal(verify_key(token), project_id)


async def aauthenticate(token: str, project_id: str | None) -> ApiPrincipal:
    """:func:`authenticate` for async code."""
    return _principal(await averify_key(token), project_id)


def _missing_key() -> ApiError:
    return ApiError(401, "unauthenticated", "an API key is required: send 'Authorization: Bearer <key>'")


async def authenticate_request(meta: dict[str, Any], query_project: str | None = None) -> ApiPrincipal:
    """Authenticate a plain Django request from its headers (the async views)."""
    token = bearer_token(meta.get("HTTP_AUTHORIZATION"))
    if token is None:
        raise _missing_key()
    return await aauthenticate(token, meta.get(PROJECT_HEADER) or query_project)


class ApiKeyAuthentication(BaseAuthentication):
    """DRF authentication of the API views (see module docstring)."""

    def authenticate(self, request: Request) -> tuple[ApiPrincipal, str] | None:
        token = bearer_token(request.META.get("HTTP_AUTHORIZATION"))
        if token is None:
            return None  # IsAuthenticated then answers 401 unauthenticated
        principal = authenticate(token, request.META.get(PROJECT_HEADER))
        return principal, principal.key_id

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="polos"'
