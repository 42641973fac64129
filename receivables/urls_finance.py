"""URLs of the finance desk: the import and payments by hand."""

from django.urls import URLPattern, path

from receivables import finance_views as views

urlpatterns: list[URLPattern] = [
    path("finance/", views.desk, name="finance_desk"),
    path("finance/import/", views.import_start, name="finance_import"),
    path("finance/import/<int:pk>/", views.import_job, name="finance_import_job"),
    path("finance/import/<int:pk>/confirm/", views.import_confirm, name="finance_import_confirm"),
    path("finance/import/<int:pk>/discard/", views.import_discard, name="finance_import_discard"),
    path("finance/payments/", views.payment_list, name="finance_payments"),
    path("finance/payments/new/", views.payment_new, name="finance_payment_new"),
    path("finance/payments/<int:pk>/", views.payment_detail, name="finance_payment"),
]
