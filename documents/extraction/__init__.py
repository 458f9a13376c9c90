"""Bounded text extraction: the "parse" stage of the pipeline.

``extract_text`` hands the file to a long-lived worker process of ``ExtractionPool`` (memory
cap, CPU-time cap, wall-clock deadline; replaced after a number of files or as soon as a
bound is hit), so a hostile file (PDF bomb, endless PDF, XML entity tricks) can at worst fail
its own extraction; it can never exhaust or stall the importer or a web worker. Failures are
results, not exceptions: the document is kept and marked "texte non indexé" with a reason.

Modules: ``result`` (the outcome and the bounds), ``office`` (.docx, .odt), ``formats`` (.pdf,
.txt, .rtf, .doc, images), ``inline`` (dispatch and text cleanup, in the calling process),
``pool`` (the bounded workers), ``child`` (the worker's loop).
"""

from documents.extraction.formats import rtf_to_text
from documents.extraction.inline import clean_text, extract_text_inline
from documents.extraction.pool import (
    DEFAULT_CPU_BUDGET,
    DEFAULT_MAX_FILES,
    ExtractionPool,
    PoolSettings,
    configure,
    extract_text,
    shared_pool,
)
from documents.extraction.result import (
    DEFAULT_MAX_CHARS,
    DEFAULT_MEMORY_MB,
    DEFAULT_TIMEOUT,
    IMAGE_KINDS,
    KINDS,
    MAX_PDF_PAGES,
    MAX_XML_PART_BYTES,
    MIN_PAGE_CHARS,
    Extraction,
)

__all__ = [
    "DEFAULT_CPU_BUDGET", "DEFAULT_MAX_CHARS", "DEFAULT_MAX_FILES", "DEFAULT_MEMORY_MB", "DEFAULT_TIMEOUT",
    "IMAGE_KINDS", "KINDS", "MAX_PDF_PAGES", "MAX_XML_PART_BYTES", "MIN_PAGE_CHARS", "Extraction",
    "ExtractionPool", "PoolSettings", "clean_text", "configure", "extract_text", "extract_text_inline",
    "rtf_to_text", "shared_pool",
]
