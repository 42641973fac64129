"""URLs of the finance desk: the import and payments by hand."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
