"""Test servers for public WebSocket protocols, each in a correct and a buggy version.

Every module here builds a Starlette app with one factory, ``make_app(*, bugs=...)``: ``app`` is
the correct server, ``buggy_app`` has every planted bug switched on, and each bug can be switched
on alone by its flag. ``test_servers.py`` proves the servers follow their protocols and that each
planted bug is observable from a client; the ``*.yaml`` files beside them are ws_routes specs.
"""
