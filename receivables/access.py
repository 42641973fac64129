"""Who may see which dealer, asked by every page and endpoint that names one."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.http import Http404

from receivables.models import Dealer, DealerQuerySet

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User


def get_dealer_for_user(
    user: User | AnonymousUser, code: str, *, dealers: DealerQuerySet | None = None
) -> Dealer:
    """The dealer `code` if this user may see it (from `dealers`, for a caller that wants
    annotations or related rows, else all dealers).

    A dealer the user may not see raises `Http404` exactly like a missing one, so that
    nobody can probe another collector's portfolio.
    """
    queryset = dealers if dealers is not None else Dealer.objects.all()
    dealer = queryset.visible_to(user).filter(code=code).first()
    if dealer is None:
        raise Http404(f"No dealer '{code}'.")
    return dealer
