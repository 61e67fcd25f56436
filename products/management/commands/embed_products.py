"""`python manage.py embed_products [--force]`: rebuild the search index and embed the catalogue."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from products.services import embed_products, refresh_search_documents


class Command(BaseCommand):
    help = "Refresh product full-text documents and embed products whose text or model changed."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--force", action="store_true", help="Re-embed every product, changed or not.")

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        indexed = refresh_search_documents()
        embedded = embed_products(force=options["force"], progress=True)
        self.stdout.write(
            f"{indexed} products indexed for full-text search, {embedded} embedded "
            f"({time.monotonic() - started:.1f} s)."
        )
