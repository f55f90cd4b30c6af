"""The exception tree: one root, pickling, control-flow signals outside ``Exception``."""

from __future__ import annotations

import inspect
import pickle

import pytest

from polos import exceptions
from polos.exceptions import (
    ExecutionSignal,
    LeaseLost,
    PolosError,
    StepExecutionError,
    WorkflowCancelled,
    WorkflowSuspended,
)

ALL_CLASSES = [
    obj
    for _, obj in inspect.getmembers(exceptions, inspect.isclass)
    if obj.__module__ == exceptions.__name__ and issubclass(obj, BaseException)
]
ERRORS = [cls for cls in ALL_CLASSES if not issubclass(cls, ExecutionSignal)]
SIGNALS = [cls for cls in ALL_CLASSES if issubclass(cls, ExecutionSignal)]


def test_the_module_defines_errors_and_signals() -> None:
    assert len(ERRORS) >= 15
    assert {WorkflowSuspended, WorkflowCancelled, LeaseLost} <= set(SIGNALS)


@pytest.mark.parametrize("cls", ERRORS, ids=lambda c: c.__name__)
def test_errors_pickle_with_message_and_details(cls: type[PolosError]) -> None:
    error = cls("something went wrong: do X", step_key="charge", attempt=3)
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is cls
    assert copy.message == "something went wrong: do X"
    assert str(copy) == "something went wrong: do X"
    assert copy.details == {"step_key": "charge", "attempt": 3}
    assert copy.code == cls.code


@pytest.mark.parametrize("cls", SIGNALS, ids=lambda c: c.__name__)
def test_signals_pickle_with_their_message(cls: type[ExecutionSignal]) -> None:
    copy = pickle.loads(pickle.dumps(cls("exec-1")))
    assert type(copy) is cls
    assert copy.args == ("exec-1",)


@pytest.mark.parametrize("cls", [WorkflowSuspended, WorkflowCancelled, LeaseLost], ids=lambda c: c.__name__)
def test_signals_are_not_caught_by_except_exception(cls: type[BaseException]) -> None:
    assert not issubclass(cls, Exception)
    with pytest.raises(cls):
        try:
            raise cls("x")
        except Exception:  # what user code writes; it must not swallow the signal
            pytest.fail("except Exception caught a control-flow signal")


@pytest.mark.parametrize("cls", ERRORS, ids=lambda c: c.__name__)
def test_every_error_derives_from_polos_error(cls: type[Exception]) -> None:
    assert issubclass(cls, PolosError)


def test_codes_are_distinct() -> None:
    codes = [cls.code for cls in ERRORS]
    assert len(codes) == len(set(codes))


def test_step_execution_error_exposes_step_key_and_type_after_pickling() -> None:
    error = StepExecutionError("step 'pay' failed", step_key="pay", error_type="ValueError")
    copy = pickle.loads(pickle.dumps(error))
    assert copy.step_key == "pay"
    assert copy.error_type == "ValueError"
