"""URLs of the agency pages."""

from django.urls import URLPattern, path

from dunning.views import agency

urlpatterns: list[URLPattern] = [
    path("agency/", agency.agency_worklist, name="agency_worklist"),
    path("agency/dealers/<str:code>/", agency.agency_dealer, name="agency_dealer"),
    path("agency/dealers/<str:code>/contact/", agency.agency_contact, name="agency_contact"),
    path("agency/dealers/<str:code>/promise/", agency.agency_promise, name="agency_promise"),
    path("agency/dealers/<str:code>/recovery/", agency.agency_recovery, name="agency_recovery"),
    path("agency/commission/", agency.agency_commission, name="agency_commission"),
]
