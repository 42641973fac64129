from django.urls import include, path

from receivables import views

urlpatterns = [
    path("", include("receivables.urls_finance")),
    path("", views.home, name="home"),
    path("dealers/", views.dealer_list, name="dealer_list"),
    path("dealers/<str:code>/", views.dealer_detail, name="dealer_detail"),
    path("reports/aging/", views.aging_report, name="aging_report"),
]
