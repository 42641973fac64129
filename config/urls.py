from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from config.api import api
from config.navigation import landing
from dunning.views.reply import reply

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("start/", landing, name="landing"),
    # The language menu in the header posts to Django's set_language (name "set_language").
    path("i18n/", include("django.conf.urls.i18n")),
    # Printed on reconciliation letters: no login, the token is the key (docs/API.md).
    path("reply/<str:token>", reply, name="reply"),
    path("", include("dunning.urls")),
    path("", include("receivables.urls")),
]

if settings.DEBUG:
    from django.urls import re_path
    from django.views.static import serve

    # Stored letters and attachments, for development only. Uploaded ledger files
    # (imports/) are never served: they are the whole book of every dealer.
    urlpatterns += [
        re_path(
            rf"^{settings.MEDIA_URL.lstrip('/')}(?!imports/)(?P<path>.*)$",
            serve,
            {"document_root": settings.MEDIA_ROOT},
        )
    ]
