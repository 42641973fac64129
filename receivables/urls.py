from django.urls import path

from receivables import views

urlpatterns = [
    path("", views.home, name="home"),
]
