"""URLs of the team: reassigning dealers, the collection policy, the excuse library, credit overrides."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
