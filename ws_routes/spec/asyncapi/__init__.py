"""AsyncAPI import and export: ws_routes specs from AsyncAPI 2.x/3.x documents, and back to 3.0.

The mapping is described in docs/asyncapi.md. :func:`import_asyncapi` reads a document (YAML or
JSON, with its local ``$ref``s) and returns the text of a spec; :func:`export_asyncapi` turns a
loaded :class:`~ws_routes.spec.model.Spec` into an AsyncAPI 3.0 document that imports back to the same
spec.
"""

from __future__ import annotations

from ws_routes.spec.asyncapi.exporter import export_asyncapi
from ws_routes.spec.asyncapi.importer import import_asyncapi

__all__ = ["export_asyncapi", "import_asyncapi"]
