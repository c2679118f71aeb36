"""``python -m ws_routes``: the ``ws-routes`` command."""

import sys

from ws_routes.tools.cli import main

sys.exit(main())
