"""`python manage.py import_bank_data [--dir DIR] [--products PATH] ... [--dry-run]`: load CSV exports.

All files are imported in one transaction: any bad row in any file and nothing is written (the command
lists the problems and exits non-zero). The format is in docs/import-format.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from customers.importing import FILE_KINDS, ImportFailed, import_bank_data

ERRORS_SHOWN = 100


class Command(BaseCommand):
    help = (
        "Import products, customers, accounts, transactions, holdings and interactions from CSV files, "
        "all or nothing (see docs/import-format.md)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dir",
            type=Path,
            help="A folder; picks up " + ", ".join(f"{kind}.csv" for kind in FILE_KINDS) + " where present.",
        )
        for kind in FILE_KINDS:
            parser.add_argument(
                f"--{kind}",
                type=Path,
                metavar="PATH",
                help=f"The {kind} file (overrides {kind}.csv in --dir).",
            )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Check everything, including references and database constraints, then roll back.",
        )
        parser.add_argument("--batch-size", type=int, default=5000, help="Rows written per INSERT.")

    def handle(self, *args: Any, **options: Any) -> None:
        paths = self._paths(options)
        try:
            report = import_bank_data(
                paths=paths,
                dry_run=options["dry_run"],
                progress=self.stdout.isatty(),
                batch_size=options["batch_size"],
            )
        except ImportFailed as failed:
            shown = "\n".join(f"  {error}" for error in failed.errors[:ERRORS_SHOWN])
            more = failed.total - min(len(failed.errors), ERRORS_SHOWN)
            tail = f"\n  ... and {more:,} more" if more else ""
            raise CommandError(f"{failed.total:,} error(s); nothing was imported.\n{shown}{tail}") from failed
        verb = ("would be created", "would be updated") if report.dry_run else ("created", "updated")
        for file in report.files:
            self.stdout.write(
                f"{file.path.name}: {file.rows:,} rows, {file.created:,} {verb[0]}, "
                f"{file.updated:,} {verb[1]} ({file.seconds:.1f} s)"
            )
        if report.dry_run:
            self.stdout.write(self.style.WARNING("Dry run: every row is valid; nothing was written."))
        else:
            self.stdout.write(self.style.SUCCESS("Import committed."))
            if any(file.kind == "products" and (file.created or file.updated) for file in report.files):
                self.stdout.write("Run `python manage.py embed_products` to embed new or changed products.")

    def _paths(self, options: dict[str, Any]) -> dict[str, Path]:
        paths: dict[str, Path] = {}
        folder: Path | None = options["dir"]
        if folder is not None:
            if not folder.is_dir():
                raise CommandError(f"--dir {folder}: not a folder")
            paths = {
                kind: folder / f"{kind}.csv" for kind in FILE_KINDS if (folder / f"{kind}.csv").is_file()
            }
            if not paths:
                raise CommandError(
                    f"--dir {folder}: none of {', '.join(f'{k}.csv' for k in FILE_KINDS)} is there"
                )
        for kind in FILE_KINDS:
            if options[kind] is not None:
                paths[kind] = options[kind]
        if not paths:
            raise CommandError(
                "nothing to import: give --dir or at least one of "
                + ", ".join(f"--{kind}" for kind in FILE_KINDS)
            )
        return paths
