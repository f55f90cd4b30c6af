"""JSON encoding of payloads, results and state: models round-trip, unsupported values are refused."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import uuid

import pytest
from pydantic import BaseModel

from polos.exceptions import SerializationError
from polos.serialization import dumps, loads, to_jsonable


class Address(BaseModel):
    city: str
    zip: str


class Customer(BaseModel):
    name: str
    address: Address
    tags: list[str] = []


class Order(BaseModel):
    id: int
    customer: Customer
    placed_at: dt.datetime


def _customer(name: str = "Ada") -> Customer:
    return Customer(name=name, address=Address(city="London", zip="N1"), tags=["vip"])


def test_model_round_trips_into_its_class() -> None:
    value = loads(dumps(_customer()))
    assert isinstance(value, Customer)
    assert isinstance(value.address, Address)
    assert value == _customer()


def test_nested_model_with_datetime_round_trips() -> None:
    order = Order(id=7, customer=_customer(), placed_at=dt.datetime(2024, 5, 1, 12, 30, tzinfo=dt.UTC))
    value = loads(dumps(order))
    assert isinstance(value, Order)
    assert value == order
    assert value.placed_at.tzinfo is not None


def test_models_inside_lists_and_dicts_round_trip() -> None:
    value = loads(dumps({"items": [_customer("a"), _customer("b")], "count": 2}))
    assert value["count"] == 2
    assert [type(x) for x in value["items"]] == [Customer, Customer]
    assert [x.name for x in value["items"]] == ["a", "b"]


def test_datetime_uuid_decimal_encode_as_strings() -> None:
    ident = uuid.UUID("12345678-1234-5678-1234-567812345678")
    when = dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    value = json.loads(dumps({"when": when, "id": ident, "amount": decimal.Decimal("10.50"), "day": when.date()}))
    assert value == {
        "when": "2024-01-02T03:04:05+00:00",
        "id": "12345678-1234-5678-1234-567812345678",
        "amount": "10.50",
        "day": "2024-01-02",
    }


def test_bytes_are_refused_with_a_hint() -> None:
    with pytest.raises(SerializationError, match="base64"):
        dumps({"blob": b"\x00\x01"})


def test_arbitrary_objects_are_refused_naming_the_type() -> None:
    class Widget:
        pass

    with pytest.raises(SerializationError) as info:
        dumps({"w": Widget()})
    assert "Widget" in str(info.value)
    assert "pydantic model" in str(info.value)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_nan_and_infinity_are_refused(bad: float) -> None:
    with pytest.raises(SerializationError):
        dumps({"x": bad})


def test_non_string_dict_keys_are_refused() -> None:
    with pytest.raises(SerializationError):
        dumps({(1, 2): "tuple key"})


def test_unknown_model_class_decodes_to_a_dict() -> None:
    text = json.dumps({"__polos_model__": "no_such_module.sub:Gone", "value": {"a": 1}})
    assert loads(text) == {"a": 1}


def test_local_model_class_decodes_to_a_dict() -> None:
    class Local(BaseModel):
        a: int

    assert loads(dumps(Local(a=1))) == {"a": 1}


def test_empty_text_decodes_to_none() -> None:
    assert loads(None) is None
    assert loads("") is None


def test_to_jsonable_strips_model_markers() -> None:
    assert to_jsonable({"c": _customer()}) == {
        "c": {"name": "Ada", "address": {"city": "London", "zip": "N1"}, "tags": ["vip"]}
    }
