"""URLs of the agency pages."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
