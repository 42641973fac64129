"""URLs of the audit pages: a dealer's change history, on screen and as CSV."""

from django.urls import URLPattern, path

from dunning.views import history

urlpatterns: list[URLPattern] = [
    path("dealers/<str:code>/history/", history.dealer_history, name="dealer_history"),
    path("dealers/<str:code>/history.csv", history.dealer_history_csv, name="dealer_history_csv"),
]
