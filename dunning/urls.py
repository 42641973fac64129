from django.urls import path

from dunning import views

urlpatterns = [
    path("worklist/", views.worklist, name="worklist"),
    path("dealers/<str:code>/collection/", views.collection, name="collection"),
    path("dealers/<str:code>/collection/contact/", views.log_contact, name="collection_contact"),
    path("dealers/<str:code>/collection/excuse/", views.excuse_script, name="collection_excuse"),
    path("dealers/<str:code>/collection/promise/", views.make_promise, name="collection_promise"),
    path("dealers/<str:code>/collection/plan/", views.make_plan, name="collection_plan"),
    path(
        "dealers/<str:code>/collection/escalate/",
        views.request_escalation,
        name="collection_escalate",
    ),
    path("dealers/<str:code>/collection/event/", views.report_event, name="collection_event"),
    path(
        "dealers/<str:code>/collection/evidence/",
        views.upload_evidence,
        name="collection_evidence",
    ),
    path(
        "dealers/<str:code>/collection/assessment/",
        views.set_assessment,
        name="collection_assessment",
    ),
    path(
        "dealers/<str:code>/collection/credit-override/",
        views.override_credit_hold,
        name="collection_override",
    ),
    path("escalations/", views.escalation_list, name="escalation_list"),
    path("escalations/<int:pk>/approve/", views.approve_escalation, name="escalation_approve"),
    path("escalations/<int:pk>/reject/", views.reject_escalation, name="escalation_reject"),
    path("tasks/", views.task_list, name="task_list"),
    path("tasks/<int:pk>/done/", views.complete_task, name="task_done"),
    path("alerts/", views.alert_list, name="alert_list"),
    path("alerts/<int:pk>/acknowledge/", views.acknowledge_alert, name="alert_acknowledge"),
]
