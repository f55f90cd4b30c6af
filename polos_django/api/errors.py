"""API errors: one JSON shape, ``{"code", "message", "field"?}``, with stable codes.

``code`` is the ``code`` of the :class:`~polos.exceptions.PolosError` raised by the runtime
(``workflow_not_found``, ``invalid_payload``, ...), or one of the API's own: ``invalid_request``
(a malformed request; ``field`` names the offending field), ``unauthenticated``, ``forbidden``,
``not_found``, ``method_not_allowed``, ``unsupported_media_type``, ``throttled``.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse
from rest_framework import exceptions as drf
from rest_framework.response import Response

from polos.exceptions import (
    ExecutionNotFoundError,
    InvalidStateError,
    PayloadValidationError,
    PolosError,
    ScheduleNotFoundError,
    SerializationError,
    WorkflowNotFoundError,
    WorkflowTimeoutError,
)

# Checked in order: the first class the error is an instance of decides the status.
POLOS_ERROR_STATUS: tuple[tuple[type[PolosError], int], ...] = (
    (WorkflowNotFoundError, 404),
    (ExecutionNotFoundError, 404),
    (ScheduleNotFoundError, 404),
    (PayloadValidationError, 400),
    (SerializationError, 400),
    (InvalidStateError, 409),  # NotResumableError included
    (WorkflowTimeoutError, 408),
)

_DRF_CODES: tuple[tuple[type[drf.APIException], str], ...] = (
    (drf.NotAuthenticated, "unauthenticated"),
    (drf.AuthenticationFailed, "unauthenticated"),
    (drf.PermissionDenied, "forbidden"),
    (drf.NotFound, "not_found"),
    (drf.MethodNotAllowed, "method_not_allowed"),
    (drf.UnsupportedMediaType, "unsupported_media_type"),
    (drf.NotAcceptable, "not_acceptable"),
    (drf.ParseError, "invalid_request"),
    (drf.ValidationError, "invalid_request"),
    (drf.Throttled, "throttled"),
)


class ApiError(drf.APIException):
    """An error the API raises itself, with an explicit code (and optionally the field at fault)."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message, code)
        self.status_code = status
        self.error_code = code
        self.field = field


def error_body(code: str, message: str, field: str | None = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "message": message}
    if field is not None:
        body["field"] = field
    body.update(extra)
    return body


def _flatten(detail: Any, prefix: str = "") -> list[tuple[str, str]]:
    """DRF's nested validation details as ``[(field path, message), ...]``."""
    if isinstance(detail, dict):
        found = []
        for key, value in detail.items():
            name = prefix if key == "non_field_errors" else f"{prefix}.{key}" if prefix else str(key)
            found.extend(_flatten(value, name))
        return found
    if isinstance(detail, list):
        found = []
        for index, value in enumerate(detail):
            if isinstance(value, dict | list):
                found.extend(_flatten(value, f"{prefix}.{index}" if prefix else str(index)))
            else:
                found.append((prefix, str(value)))
        return found
    return [(prefix, str(detail))]


def describe(exc: BaseException) -> tuple[int, dict[str, Any]] | None:
    """The status and JSON body for an exception the API knows how to report, else ``None``."""
    if isinstance(exc, ApiError):
        return exc.status_code, error_body(exc.error_code, str(exc.detail), exc.field)
    if isinstance(exc, PolosError):
        status = next((s for cls, s in POLOS_ERROR_STATUS if isinstance(exc, cls)), 400)
        field = exc.details.get("field") if isinstance(exc.details.get("field"), str) else None
        return status, error_body(exc.code, exc.message or type(exc).__name__, field)
    if isinstance(exc, drf.ValidationError):
        problems = _flatten(exc.detail) or [("", "invalid request")]
        field, message = problems[0]
        text = f"field '{field}': {message}" if field else message
        errors = [{"field": f or None, "message": m} for f, m in problems]
        return 400, error_body("invalid_request", text, field or None, errors=errors)
    if isinstance(exc, drf.NotAuthenticated):
        return 401, error_body("unauthenticated", "an API key is required: send 'Authorization: Bearer <key>'")
    if isinstance(exc, drf.APIException):
        code = next((c for cls, c in _DRF_CODES if isinstance(exc, cls)), "error")
        detail = exc.detail
        message = str(detail) if not isinstance(detail, dict | list) else str(_flatten(detail)[0][1])
        return exc.status_code, error_body(code, message)
    return None


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF exception handler of the API views (unknown exceptions propagate: a 500)."""
    described = describe(exc)
    if described is None:
        return None
    status, body = described
    headers = {}
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="polos"'
    if isinstance(exc, drf.Throttled) and exc.wait is not None:
        headers["Retry-After"] = str(int(exc.wait))
    return Response(body, status=status, headers=headers)


def json_error(status: int, code: str, message: str, field: str | None = None) -> JsonResponse:
    response = JsonResponse(error_body(code, message, field), status=status)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="polos"'
    return response


def response_for(exc: BaseException) -> JsonResponse | None:
    """:func:`exception_handler` for plain (async) Django views."""
    described = describe(exc)
    if described is None:
        return None
    status, body = described
    response = JsonResponse(body, status=status)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="polos"'
    return response


def not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
    """Unknown URLs under ``/api/``: a JSON 404 instead of Django's HTML page."""
    return json_error(404, "not_found", f"no API endpoint at {request.path}; see /api/v1/docs/")
