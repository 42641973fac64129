"""The collection workflow's part of the JSON API: the dealer endpoints (the ledger's
dealer with its collection standing), the workflow endpoints (promises, escalations,
contacts, events, the timeline) and the KPIs. `config.api` mounts the routers."""

from dunning.api.dealers import dealers_router
from dunning.api.letters import letters_router
from dunning.api.reports import kpi_router
from dunning.api.workflow import collection_router

__all__ = ["collection_router", "dealers_router", "kpi_router", "letters_router"]
