"""URLs of the manager's team desk."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
