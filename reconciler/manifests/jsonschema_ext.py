"""The project's JSON Schema validator class, re-exported for the manifest modules.

It lives in ``reconciler/api/jsonschema_ext.py`` so the API package needs nothing from this one:
manifests import api (the write rules, the validator), never the other way round.
"""

from __future__ import annotations

from reconciler.api.jsonschema_ext import SchemaValidator

__all__ = ["SchemaValidator"]
