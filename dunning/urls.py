from django.urls import include, path

from dunning.views import lists, panel, printroom

urlpatterns = [
    path("", include("dunning.urls_desk")),
    path("", include("dunning.urls_approvals")),
    path("", include("dunning.urls_team")),
    path("", include("dunning.urls_agency")),
    path("", include("dunning.urls_audit")),
    path("worklist/", lists.worklist, name="worklist"),
    path("dealers/<str:code>/collection/", panel.collection, name="collection"),
    path("dealers/<str:code>/collection/contact/", panel.log_contact, name="collection_contact"),
    path("dealers/<str:code>/collection/excuse/", panel.excuse_script, name="collection_excuse"),
    path("dealers/<str:code>/collection/promise/", panel.make_promise, name="collection_promise"),
    path("dealers/<str:code>/collection/plan/", panel.make_plan, name="collection_plan"),
    path(
        "dealers/<str:code>/collection/escalate/",
        panel.request_escalation,
        name="collection_escalate",
    ),
    path("dealers/<str:code>/collection/event/", panel.report_event, name="collection_event"),
    path(
        "dealers/<str:code>/collection/evidence/",
        panel.upload_evidence,
        name="collection_evidence",
    ),
    path(
        "dealers/<str:code>/collection/assessment/",
        panel.set_assessment,
        name="collection_assessment",
    ),
    path(
        "dealers/<str:code>/collection/credit-override/",
        panel.override_credit_hold,
        name="collection_override",
    ),
    path("tasks/", lists.task_list, name="task_list"),
    path("tasks/<int:pk>/done/", lists.complete_task, name="task_done"),
    path("alerts/", lists.alert_list, name="alert_list"),
    path("alerts/<int:pk>/acknowledge/", lists.acknowledge_alert, name="alert_acknowledge"),
    # The print room
    path("print-room/", printroom.today, name="printroom_today"),
    path("print-room/print-run.pdf", printroom.print_run, name="printroom_print_run"),
    path("print-room/mark-posted/", printroom.mark_posted, name="printroom_mark_posted"),
    path("print-room/letters/<int:pk>/", printroom.letter_detail, name="printroom_letter"),
    path("print-room/letters/<int:pk>/pdf", printroom.letter_pdf, name="printroom_letter_pdf"),
    path("print-room/letters/<int:pk>/reply-scan", printroom.reply_scan, name="printroom_scan"),
    path("print-room/letters/<int:pk>/posting/", printroom.post_letter, name="printroom_post"),
    path(
        "print-room/letters/<int:pk>/receipt/", printroom.record_receipt, name="printroom_receipt"
    ),
    path("print-room/letters/<int:pk>/email/", printroom.send_by_email, name="printroom_email"),
    path("print-room/letters/<int:pk>/reply/", printroom.record_reply, name="printroom_reply"),
    path(
        "print-room/reconciliation/",
        printroom.reconciliation_list,
        name="printroom_reconciliation",
    ),
    path(
        "print-room/reconciliation/new/",
        printroom.new_reconciliation,
        name="printroom_reconciliation_new",
    ),
]
