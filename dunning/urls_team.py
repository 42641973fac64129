"""URLs of the team: reassigning dealers, the collection policy, the excuse library,
credit overrides."""

from django.urls import URLPattern, path

from dunning.views import team

urlpatterns: list[URLPattern] = [
    path("team/reassign/", team.reassign, name="team_reassign"),
    path("team/policy/", team.policy, name="team_policy"),
    path("team/excuses/", team.excuses, name="team_excuses"),
    path("team/excuses/new/", team.add_excuse, name="team_excuse_add"),
    path("team/excuses/<int:pk>/", team.excuse, name="team_excuse"),
    path("team/excuses/<int:pk>/active/", team.excuse_active, name="team_excuse_active"),
    path("team/credit-overrides/", team.overrides, name="team_overrides"),
    path(
        "team/credit-overrides/<str:code>/end/",
        team.end_override,
        name="team_override_end",
    ),
]
