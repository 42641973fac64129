"""The team pages, a collection manager's work on the team rather than on one dealer:
who works which dealers (reassigning them by selection or by filter), the collection
policy with its history, the excuse library, and the credit-hold overrides running or
recently ended. Managers are not Django staff: all of this is done here, not in the
admin.

Managers use every page; auditors read the policy, the excuse library and the overrides
but get no form (and a 403 page for a POST); anyone else gets the 403 page. Changes go
through `dunning.services.team` and `dunning.services.stages`; a refusal becomes a form
error (400) or, when the state changed under the user, a message.

`reassign` holds reassigning dealers, `policy` the collection policy, `excuses` the
excuse library, `overrides` the credit overrides, and `common` what they share.
"""

from dunning.views.team.excuses import add_excuse, excuse, excuse_active, excuses
from dunning.views.team.overrides import end_override, overrides
from dunning.views.team.policy import policy
from dunning.views.team.reassign import reassign

__all__ = [
    "add_excuse",
    "end_override",
    "excuse",
    "excuse_active",
    "excuses",
    "overrides",
    "policy",
    "reassign",
]
