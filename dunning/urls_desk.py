"""URLs of the manager's team desk."""

from django.urls import URLPattern, path

from dunning.views import desk

urlpatterns: list[URLPattern] = [
    path("desk/", desk.team_desk, name="team_desk"),
    path("desk/refresh/", desk.refresh_team_desk, name="team_desk_refresh"),
]
