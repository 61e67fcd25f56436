"""Django's PostgreSQL back-end, connecting to the embedded server (started on first connection).

Starting the server lazily here, rather than in settings, means commands that never touch the database
(`check`, `makemigrations --check`, `help`) do not start one, and a forked django-q2 worker reuses the
server its parent already holds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.db.backends.postgresql import base

from .server import ensure_server


class DatabaseWrapper(base.DatabaseWrapper):
    def get_connection_params(self) -> dict[str, Any]:
        options = self.settings_dict.get("OPTIONS", {})
        datadir = Path(options["embedded_datadir"])
        host = ensure_server(
            datadir,
            database=options["embedded_database"],
            keep_running=bool(options.get("embedded_keep_running")),
        )
        # The server is trust-authenticated over a Unix socket only (it listens on no TCP port).
        self.settings_dict["HOST"] = host
        params = super().get_connection_params()
        params.pop("embedded_datadir", None)
        params.pop("embedded_keep_running", None)
        params.pop("embedded_database", None)
        return params
