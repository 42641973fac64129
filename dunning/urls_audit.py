"""URLs of the audit pages."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
