"""Drafting constants: field and output types, batch bounds."""

from __future__ import annotations

import datetime as dt

from documents.models import (
    DocType,
)

#: Field types an administrator may give to a plain (single-value) field.
SCALAR_TYPES = ("texte", "date", "montant", "entier", "booléen", "région")
#: Output types a model may declare (everything but "modele" itself).
OUTPUT_TYPES = tuple(t.value for t in DocType if t is not DocType.MODELE)
#: Fields filled per region in a batch grid besides the amounts.
PER_REGION_FIELDS = ("lieu_signature", "convention_reference", "convention_date")
#: A running batch whose status has not moved for this long was interrupted (process killed).
STALE_BATCH = dt.timedelta(minutes=10)
#: Longest accepted CSV of batch values.
MAX_CSV_BYTES = 2 * 1024 * 1024
