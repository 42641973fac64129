"""The daily sweep's claims: one row per business date and batch done."""

from __future__ import annotations

from django.db import models


class SweepBatch(models.Model):
    """A claimed batch of the daily sweep: (business date, batch number) is done once,
    whatever number of workers or runs race for it."""

    business_date = models.DateField()
    number = models.PositiveIntegerField()
    first_dealer_id = models.BigIntegerField()
    last_dealer_id = models.BigIntegerField()
    finished_at = models.DateTimeField(auto_now_add=True)
    summary = models.JSONField(default=dict)

    class Meta:
        ordering = ["-business_date", "number"]
        constraints = [
            models.UniqueConstraint(fields=["business_date", "number"], name="sweep_batch_once"),
        ]

    def __str__(self) -> str:
        return f"Sweep {self.business_date} batch {self.number}"
