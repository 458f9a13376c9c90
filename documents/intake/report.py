"""The outcome of each file of a folder import, and the import's summary."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Outcome = Literal["imported", "duplicate", "rejected", "ignored"]



@dataclass
class FileOutcome:
    """What happened to one file of the folder."""

    path: str
    outcome: Outcome
    reason: str = ""
    document_id: int | None = None
    title: str | None = None
    doc_type: str | None = None
    region_code: str | None = None
    year: int | None = None
    #: Where each metadata value came from: manifeste, option, nom, dossier, propriétés, compte, défaut.
    sources: dict[str, str] = field(default_factory=dict)
    #: Scanned pages queued for text recognition (OCR) by this import.
    ocr_queued: bool = False


@dataclass
class ImportReport:
    """The summary of a folder import."""

    folder: str
    outcomes: list[FileOutcome] = field(default_factory=list)

    def of(self, outcome: Outcome) -> list[FileOutcome]:
        """Outcomes of one kind, in folder order."""
        return [o for o in self.outcomes if o.outcome == outcome]

    @property
    def counts(self) -> dict[str, int]:
        """How many files ended in each outcome."""
        return {kind: len(self.of(kind)) for kind in ("imported", "duplicate", "rejected", "ignored")}

    @property
    def ocr_queued(self) -> int:
        """Imported files whose scanned pages wait for the OCR worker."""
        return sum(1 for o in self.outcomes if o.ocr_queued)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        def clean(o: FileOutcome) -> dict[str, Any]:
            return {k: v for k, v in asdict(o).items() if k != "outcome" and v not in (None, "", {}, False)}

        return {
            "folder": self.folder,
            "counts": self.counts,
            "ocr_queued": self.ocr_queued,
            "imported": [clean(o) for o in self.of("imported")],
            "duplicates": [clean(o) for o in self.of("duplicate")],
            "rejected": [clean(o) for o in self.of("rejected")],
            "ignored": [clean(o) for o in self.of("ignored")],
        }

