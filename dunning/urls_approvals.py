"""URLs of approvals: the escalation queue and its decisions."""

from django.urls import URLPattern, path

from dunning.views import approvals

urlpatterns: list[URLPattern] = [
    path("escalations/", approvals.escalation_list, name="escalation_list"),
    path("escalations/decide/", approvals.decide_selected, name="escalation_decide"),
    path("escalations/<int:pk>/approve/", approvals.approve_escalation, name="escalation_approve"),
    path("escalations/<int:pk>/reject/", approvals.reject_escalation, name="escalation_reject"),
    path(
        "escalations/<int:pk>/evidence-pack.pdf",
        approvals.escalation_pack,
        name="escalation_pack",
    ),
]
