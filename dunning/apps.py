from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _sync_roles(sender: AppConfig, **kwargs: object) -> None:
    from dunning.roles import WORKFLOW_PERMISSIONS
    from receivables.roles import sync_role_groups

    sync_role_groups("dunning", WORKFLOW_PERMISSIONS)


class DunningConfig(AppConfig):
    name = "dunning"
    verbose_name = "Collection workflow"

    def ready(self) -> None:
        # The workflow's share of the role groups, refreshed after every migrate like
        # the ledger's (`receivables.apps`).
        post_migrate.connect(_sync_roles, dispatch_uid="dunning_sync_roles")
