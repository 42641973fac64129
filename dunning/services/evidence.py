"""Evidence files for enforcement ("Evidence", docs/PRACTICE.md §15), fingerprinted with SHA-256 so
that a copy shown in court can be matched to what was filed."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from django.core.files import File
from django.db import transaction

from dunning.models import Evidence
from dunning.services.common import check_text, require, stamp
from dunning.services.errors import InvalidInput
from receivables.models import Dealer

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def sha256_of(file: File) -> str:
    """The file's SHA-256, read in chunks so that a large photo never sits in memory."""
    digest = hashlib.sha256()
    for chunk in file.chunks():
        digest.update(chunk)
    file.seek(0)
    return digest.hexdigest()


@transaction.atomic
def attach_evidence(*, dealer: Dealer, file: File, description: str, by: User | None) -> Evidence:
    require(by, "dunning.add_evidence")
    description = check_text("description", description, required=False, max_length=300)
    if file is None or not getattr(file, "name", ""):
        raise InvalidInput("file", "Choose a file.")
    evidence = Evidence(
        dealer=dealer,
        file=file,
        sha256=sha256_of(file),
        description=description,
        uploaded_by=by,
    )
    stamp(evidence, by=by, reason="Evidence attached")
    evidence.save()
    return evidence


__all__ = ["attach_evidence", "sha256_of"]
