"""JSON encoding of payloads, step results and state.

Values are stored as JSON text.  Pydantic models are stored with their class path and rebuilt into
the same class on replay, so a step that returned a model returns an equal model when its recorded
result is replayed.  Only classes already imported in the process are rebuilt (no import is
triggered by stored data); an unknown class decodes to a plain dict.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import enum
import json
import sys
import uuid
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from .exceptions import SerializationError

MODEL_MARKER = "__polos_model__"


def _model_path(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def _default(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return {MODEL_MARKER: _model_path(type(value)), "value": value.model_dump(mode="json")}
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, uuid.UUID | decimal.Decimal):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, bytes):
        raise SerializationError("bytes cannot be stored as JSON: encode them (base64) or store a path instead")
    raise SerializationError(
        f"a value of type {type(value).__name__} cannot be stored as JSON: return JSON-compatible data "
        "(dict, list, str, int, float, bool, None) or a pydantic model"
    )


def dumps(value: Any) -> str:
    """Encode ``value`` as JSON text (pydantic models keep their class for :func:`loads`)."""
    try:
        return json.dumps(value, default=_default, separators=(",", ":"), allow_nan=False)
    except ValueError as exc:  # NaN / infinity, circular references
        raise SerializationError(f"value cannot be stored as JSON: {exc}") from exc
    except TypeError as exc:  # non-string dict keys
        raise SerializationError(f"value cannot be stored as JSON: {exc}") from exc


def _find_model(path: str) -> type[BaseModel] | None:
    module_name, _, qualname = path.partition(":")
    obj: Any = sys.modules.get(module_name)
    for part in qualname.split("."):
        if obj is None:
            return None
        obj = getattr(obj, part, None)
    if isinstance(obj, type) and issubclass(obj, BaseModel):
        return obj
    return None


def _object_hook(obj: dict[str, Any]) -> Any:
    path = obj.get(MODEL_MARKER)
    if path is None or len(obj) != 2 or "value" not in obj:
        return obj
    model = _find_model(path)
    if model is None:
        return obj["value"]
    return model.model_validate(obj["value"])


def loads(text: str | None) -> Any:
    """Decode JSON text written by :func:`dumps`, rebuilding pydantic models."""
    if text is None or text == "":
        return None
    return json.loads(text, object_hook=_object_hook)


def loads_plain(text: str | None) -> Any:
    """Decode JSON text without rebuilding models (for data received from outside)."""
    if text is None or text == "":
        return None
    return json.loads(text)


def to_jsonable(value: Any) -> Any:
    """Return ``value`` as plain JSON data (models dumped, markers stripped) for APIs and events."""
    return json.loads(json.dumps(value, default=_plain_default))


def _plain_default(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    return _default(value)


def coerce(value: Any, annotation: Any) -> Any:
    """Validate ``value`` into ``annotation`` when it is a pydantic model class; otherwise return it."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel) and not isinstance(value, annotation):
        return annotation.model_validate(value)
    return value


Encoder = Callable[[Any], str]
