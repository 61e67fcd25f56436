"""`python manage.py activate_model risk.credit@v3 [--override-reason "…"]`: make a registered version the active
one, as the admin's *Activate* action does, from a shell. A version below its quality floor is refused unless a
reason is given; the reason and the floors it missed are kept in the audit trail (`model.activated`)."""

from __future__ import annotations

import re
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from bank import registry
from bank.models import ModelVersion

_LABEL = re.compile(r"^(?P<name>[\w.]+)@v(?P<version>\d+)$")


class Command(BaseCommand):
    help = "Activate a registered model version (name@vN)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("label", help="The version, as the admin shows it: e.g. risk.credit@v3.")
        parser.add_argument("--override-reason", default="",
                            help="Why a version below its quality floor should serve anyway (kept in the audit).")

    def handle(self, *args: Any, **options: Any) -> None:
        match = _LABEL.match(options["label"].strip())
        if match is None:
            raise CommandError(f"{options['label']!r} is not a version label like risk.credit@v3")
        version = ModelVersion.objects.filter(name=match["name"], version=int(match["version"])).first()
        if version is None:
            raise CommandError(f"no registered version {options['label']}")
        try:
            activated = registry.activate(version, channel="cli", override_reason=options["override_reason"])
        except registry.RegistryError as error:
            raise CommandError(str(error)) from None
        below = registry.quality_failures(activated)
        note = f" (below its quality floor: {'; '.join(below)}; reason recorded)" if below else ""
        self.stdout.write(f"{activated.label} is now active{note}")
