"""URLs of approvals: the escalation queue and its decisions."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
