from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _sync_roles(sender: AppConfig, **kwargs: object) -> None:
    from receivables.roles import ROLE_PERMISSIONS, sync_role_groups

    sync_role_groups("receivables", ROLE_PERMISSIONS)


class ReceivablesConfig(AppConfig):
    name = "receivables"
    verbose_name = "Receivables ledger"

    def ready(self) -> None:
        # Role groups are data that follows the code: refresh them after every migrate
        # (after each app's, since the permissions of later apps appear one by one).
        post_migrate.connect(_sync_roles, dispatch_uid="receivables_sync_roles")
