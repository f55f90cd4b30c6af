"""OpenAPI (drf-spectacular) for the API: its auth scheme, the project header, its own paths only."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter, extend_schema
from drf_spectacular.views import SpectacularAPIView

F = TypeVar("F", bound=Callable[..., Any])

PROJECT_PARAMETER = OpenApiParameter(
    "X-Project-ID",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description="The project; must be the API key's project (defaults to it).",
)


class ApiSchema(AutoSchema):
    """Every operation documents the project header."""

    def get_override_parameters(self) -> list[Any]:
        return [*super().get_override_parameters(), PROJECT_PARAMETER]


class ApiKeyScheme(OpenApiAuthenticationExtension):  # registered by subclassing
    target_class = "polos_django.api.auth.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {"type": "http", "scheme": "bearer", "description": "An API key of the project (polos_...)."}


def only_polos_endpoints(endpoints: list[Any], **kwargs: Any) -> list[Any]:
    """Preprocessing hook: leave out the host project's own DRF views; document paths without the
    optional trailing slash (how the SDK calls them)."""
    return [
        (path.rstrip("/") or "/", *rest)
        for path, *rest in endpoints
        if getattr(getattr(rest[-1], "cls", None), "polos_api", False)
    ]


class SchemaView(SpectacularAPIView):
    custom_settings = {
        "TITLE": "Polos API",
        "DESCRIPTION": "Invoke workflows, follow their executions and events. See docs/api.md.",
        "VERSION": "1",
        "PREPROCESSING_HOOKS": ["polos_django.api.schema.only_polos_endpoints"],
    }


def document(**kwargs: Any) -> Callable[[F], F]:
    """``extend_schema`` on a view method, based on :class:`ApiSchema` whatever the project's
    ``DEFAULT_SCHEMA_CLASS`` is (the host project need not configure drf-spectacular)."""

    def decorate(method: F) -> F:
        method.schema = ApiSchema()  # type: ignore[attr-defined]
        return extend_schema(**kwargs)(method)  # type: ignore[no-any-return]

    return decorate
