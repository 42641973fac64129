"""`python manage.py create_api_token USERNAME` (docs/API.md "Commands")."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from receivables.models import ApiToken


class Command(BaseCommand):
    help = (
        "Print a new API token for the user, for the header `Authorization: Bearer <token>`. "
        "Only a digest is stored: the token cannot be shown again."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")

    def handle(self, *args: Any, **options: Any) -> None:
        user = get_user_model().objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(f"No user '{options['username']}'.")
        if not user.is_active:
            raise CommandError(f"User '{user.get_username()}' is inactive.")
        _, raw = ApiToken.issue(user)
        # The token alone on stdout, so that scripts can capture it; the advice on stderr.
        self.stdout.write(raw)
        self.stderr.write(
            "Store this token now: it is not shown again.", style_func=self.style.WARNING
        )
