"""`python manage.py create_user USERNAME --role ROLE [--agency NAME]` (docs/API.md "Commands")."""

from __future__ import annotations

import getpass
import os
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from receivables.models import Agency
from receivables.roles import Role

PASSWORD_VARIABLE = "NEW_USER_PASSWORD"


class Command(BaseCommand):
    help = (
        "Create a user in one of the roles. The password comes from the environment "
        f"variable {PASSWORD_VARIABLE}, or is asked for."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=[role.value for role in Role])
        parser.add_argument(
            "--agency", help="The collection agency the user works for (role agency only)"
        )
        parser.add_argument("--email", default="")

    def handle(self, *args: Any, **options: Any) -> None:
        username: str = options["username"]
        role = Role(options["role"])
        agency_name: str | None = options["agency"]
        if role == Role.AGENCY and not agency_name:
            raise CommandError("--agency NAME is required for role agency.")
        if role != Role.AGENCY and agency_name:
            raise CommandError("--agency is only for role agency.")
        user_model = get_user_model()
        if user_model.objects.filter(username=username).exists():
            raise CommandError(f"User '{username}' already exists.")
        group = Group.objects.filter(name=role.value).first()
        if group is None:
            raise CommandError(f"Group '{role.value}' is missing: run `manage.py migrate` first.")

        password = self._password()
        candidate = user_model(username=username, email=options["email"])
        try:
            validate_password(password, user=candidate)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from error

        with transaction.atomic():
            user = user_model.objects.create_user(
                username=username, email=options["email"], password=password
            )
            user.groups.add(group)
            if role == Role.AGENCY:
                assert agency_name is not None
                agency, _ = Agency.objects.get_or_create(name=agency_name)
                agency.users.add(user)
        where = f" of agency '{agency_name}'" if role == Role.AGENCY else ""
        self.stdout.write(self.style.SUCCESS(f"Created {role.value} '{username}'{where}."))

    def _password(self) -> str:
        from_environment = os.environ.get(PASSWORD_VARIABLE)
        if from_environment:
            return from_environment
        password = getpass.getpass("Password: ")
        if not password:
            raise CommandError("The password must not be empty.")
        if getpass.getpass("Password (again): ") != password:
            raise CommandError("The passwords do not match.")
        return password
