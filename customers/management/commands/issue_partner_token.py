"""Issue a partner API token and print its secret, which is shown this once and never stored."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from customers.models import Partner, PartnerScope
from customers.partners import issue_partner_token


class Command(BaseCommand):
    help = "Issue an API token for a partner. The secret is printed once; only its SHA-256 is stored."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--partner", required=True, help="The partner's name.")
        parser.add_argument("--name", required=True, help="What the token is for, e.g. 'production'.")
        parser.add_argument(
            "--scope",
            action="append",
            required=True,
            choices=PartnerScope.values,
            dest="scopes",
            help="A scope to grant; repeat for several.",
        )
        parser.add_argument("--expires-in-days", type=int, default=None, help="Default: never expires.")
        parser.add_argument(
            "--create-partner", action="store_true", help="Create the partner if it does not exist yet."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        days = options["expires_in_days"]
        if days is not None and days < 1:
            raise CommandError("--expires-in-days must be at least 1.")
        partner: Partner | None
        if options["create_partner"]:
            partner, _ = Partner.objects.get_or_create(name=options["partner"])
        else:
            partner = Partner.objects.filter(name=options["partner"]).first()
        if partner is None:
            raise CommandError(f"No partner named {options['partner']!r} (use --create-partner to add it).")
        expires_at = timezone.now() + timedelta(days=days) if days is not None else None
        try:
            token, secret = issue_partner_token(
                partner=partner, name=options["name"], scopes=options["scopes"], expires_at=expires_at
            )
        except ValueError as error:
            raise CommandError(str(error)) from None
        self.stderr.write(
            f"Issued token {token.prefix}… for {partner.name} with scopes {', '.join(token.scopes)}"
            + (f", expiring {token.expires_at:%Y-%m-%d %H:%M %Z}" if token.expires_at else "")
            + ". Store the secret now: it cannot be shown again."
        )
        # The secret alone on stdout, so that it can be piped into a secret store.
        self.stdout.write(secret)
