"""multipleOf must agree with the API: decimal steps on floats are checked with a tolerance."""

from __future__ import annotations

import pytest

from reconciler.api.jsonschema_ext import SchemaValidator


@pytest.mark.parametrize(("value", "ok"), [(0.3, True), (0.7, True), (1, True), (0.35, False), (0.05, False)])
def test_float_steps_tolerate_binary_rounding(value: float, ok: bool) -> None:
    errors = list(SchemaValidator({"type": "number", "multipleOf": 0.1}).iter_errors(value))
    assert (errors == []) is ok
    if not ok:
        assert errors[0].message == f"{value!r} is not a multiple of 0.1"


@pytest.mark.parametrize(("value", "ok"), [(10, True), (0, True), (15, False)])
def test_integer_steps_are_exact(value: int, ok: bool) -> None:
    assert (list(SchemaValidator({"multipleOf": 10}).iter_errors(value)) == []) is ok
