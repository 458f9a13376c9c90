"""Agreements' money: the four funding lines of each agreement (``amounts``) and a region's years (``timeline``).

Public verbs: ``set_amounts`` (enter or correct amounts), ``amounts_of`` (read them, the draft's
values included), ``region_timeline``, ``national_table`` and ``national_csv``.
"""

from documents.agreements.amounts import (
    AGREEMENT_TYPES,
    LINES,
    AgreementAmounts,
    amounts_of,
    set_amounts,
)
from documents.agreements.timeline import national_csv, national_table, region_timeline, timeline_json

__all__ = ["AGREEMENT_TYPES", "LINES", "AgreementAmounts", "amounts_of", "national_csv", "national_table",
           "region_timeline", "set_amounts", "timeline_json"]
