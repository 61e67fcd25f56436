"""`python manage.py load_knowledge_base [--file PATH] [--update]`: add the bank's FAQ articles (bilingual
JSON, see chat/data/knowledge_base.json) and index them for retrieval. Articles already there are kept as
staff edited them unless --update is given."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from chat.knowledge import SEED_FILE, index_articles, seed_knowledge_base


class Command(BaseCommand):
    help = "Load the bilingual FAQ articles and index them (embeddings + full text)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--file", type=Path, default=SEED_FILE)
        parser.add_argument("--update", action="store_true", help="Overwrite articles that already exist.")
        parser.add_argument("--quiet", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["file"].exists():
            raise CommandError(f"{options['file']}: no such file")
        try:
            created, updated = seed_knowledge_base(path=options["file"], update=options["update"])
        except (ValueError, KeyError) as error:
            raise CommandError(f"{options['file']}: {error}") from error
        indexed = index_articles(progress=not options["quiet"])
        self.stdout.write(f"{created} articles added, {updated} updated, {indexed} indexed")
