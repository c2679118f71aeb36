"""Front ends beside pytest: the ``ws-routes`` command (init, check, schema, AsyncAPI import/export)."""
