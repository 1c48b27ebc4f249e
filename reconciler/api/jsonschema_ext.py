"""The one JSON Schema validator class used for manifests and for the emulator's request checks.

Draft 2020-12 with a ``multipleOf`` that tolerates binary floating point: plain jsonschema says
``0.3`` is not a multiple of ``0.1`` (0.3 / 0.1 == 2.9999999999999996), while the API, which
validates with a tolerance, accepts it. Both sides must agree, or a valid manifest is refused.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from jsonschema import Draft202012Validator, ValidationError, validators

RELATIVE_TOLERANCE = 1e-9


def _multiple_of(validator: Any, step: Any, instance: Any, schema: Any) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "number"):
        return
    if isinstance(step, float) or isinstance(instance, float):
        quotient = instance / step
        failed = abs(quotient - round(quotient)) > RELATIVE_TOLERANCE * max(1.0, abs(quotient))
    else:
        failed = instance % step != 0
    if failed:
        yield ValidationError(f"{instance!r} is not a multiple of {step!r}")


SchemaValidator = validators.extend(Draft202012Validator, {"multipleOf": _multiple_of})
"""Use this instead of ``Draft202012Validator`` everywhere."""

__all__ = ["SchemaValidator"]
