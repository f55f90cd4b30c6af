"""``PolosClient`` configuration and error mapping (no server needed)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from polos import PolosClient
from polos.exceptions import (
    ConfigurationError,
    ExecutionNotFoundError,
    InvalidStateError,
    NotResumableError,
    PayloadValidationError,
    WorkflowNotFoundError,
    WorkflowTimeoutError,
)
from polos.http_client import ApiError, AuthenticationError, InvalidRequestError, ServerUnavailableError
from polos.local import LocalSettings, write_local_settings


@pytest.fixture
def clean_env(monkeypatch: Any, tmp_path: Any) -> Any:
    for name in ("POLOS_API_URL", "POLOS_API_KEY", "POLOS_PROJECT_ID", "POLOS_DEPLOYMENT_ID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("POLOS_HOME", str(tmp_path))
    return tmp_path


def test_local_settings_are_enough(clean_env: Any) -> None:
    write_local_settings(LocalSettings("http://127.0.0.1:9999", "proj_local", "polos_abcdefgh_local"))
    client = PolosClient(project_id="proj_local")
    assert (client.api_url, client.api_key, client.project_id) == (
        "http://127.0.0.1:9999",
        "polos_abcdefgh_local",
        "proj_local",
    )
    assert PolosClient().project_id == "proj_local"


def test_arguments_then_env_then_local(clean_env: Any, monkeypatch: Any) -> None:
    write_local_settings(LocalSettings("http://127.0.0.1:9999", "proj_local", "polos_abcdefgh_local"))
    monkeypatch.setenv("POLOS_API_KEY", "polos_abcdefgh_env")
    monkeypatch.setenv("POLOS_PROJECT_ID", "proj_env")
    client = PolosClient()
    assert (client.api_url, client.api_key, client.project_id) == (
        "http://127.0.0.1:9999",
        "polos_abcdefgh_env",
        "proj_env",
    )
    explicit = PolosClient(api_key="polos_abcdefgh_arg", project_id="proj_arg")
    assert (explicit.api_key, explicit.project_id) == ("polos_abcdefgh_arg", "proj_arg")


def test_a_local_key_is_never_sent_to_another_server(clean_env: Any) -> None:
    write_local_settings(LocalSettings("http://127.0.0.1:9999", "proj_local", "polos_abcdefgh_local"))
    with pytest.raises(ConfigurationError, match="POLOS_API_KEY"):
        PolosClient(api_url="https://polos.example.com")
    assert PolosClient(api_url="http://localhost:9999/").api_key == "polos_abcdefgh_local"


def test_no_key_anywhere(clean_env: Any) -> None:
    with pytest.raises(ConfigurationError, match="polos server start"):
        PolosClient(project_id="p")


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (404, "workflow_not_found", WorkflowNotFoundError),
        (404, "execution_not_found", ExecutionNotFoundError),
        (400, "invalid_payload", PayloadValidationError),
        (400, "invalid_request", InvalidRequestError),
        (409, "not_waiting", NotResumableError),
        (409, "invalid_state", InvalidStateError),
        (408, "timeout", WorkflowTimeoutError),
        (401, "unauthenticated", AuthenticationError),
        (404, "not_found", ApiError),
        (502, None, ServerUnavailableError),
    ],
)
async def test_api_errors_become_polos_errors(status: int, code: str | None, expected: type) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if code is None:
            return httpx.Response(status, text="<html>Bad gateway</html>")
        return httpx.Response(status, json={"code": code, "message": f"the server says {code}", "field": "x"})

    client = PolosClient("http://polos.test", "polos_abcdefgh_k", transport=httpx.MockTransport(handler))
    with pytest.raises(expected) as raised:
        await client.get_execution("e1")
    assert type(raised.value) is expected
    if code is not None:
        assert str(raised.value) == f"the server says {code}"
        assert raised.value.code == code and raised.value.details["field"] == "x"


async def test_unreachable_server() -> None:
    client = PolosClient("http://127.0.0.1:9", "polos_abcdefgh_k")
    with pytest.raises(ServerUnavailableError, match="cannot reach the Polos API"):
        await client.invoke("anything")


@pytest.mark.once
async def test_an_unknown_invoke_option_is_refused_before_sending() -> None:
    """The server ignores unknown fields, so a misspelt option must not be sent and silently dropped."""
    client = PolosClient("http://127.0.0.1:9", "polos_00000000_x", "p")  # nothing listens: never reached
    with pytest.raises(TypeError, match=r"unknown invoke option\(s\) \['queue'\]"):
        await client.invoke_and_wait("wf", {}, queue="fast")
