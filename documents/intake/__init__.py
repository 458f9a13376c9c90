"""Folder import: bring a shared folder of Word and PDF files into the archive.

Modules: ``folder`` (walk, stage, extract ahead in the worker pool, file one transaction per
file), ``guessing`` (type, region, year from the path), ``properties`` (title and year from the
file itself), ``manifest`` (the optional CSV and its cells), ``report`` (outcomes).
"""

from documents.intake.folder import collect_files, default_actor, import_folder
from documents.intake.guessing import (
    YEAR_MAX,
    YEAR_MIN,
    RegionKeys,
    guess_region,
    guess_type,
    guess_year,
    path_components,
    title_from_name,
)
from documents.intake.manifest import (
    COLUMN_OF,
    MANIFEST_COLUMNS,
    ManifestError,
    normalise_relpath,
    parse_bool,
    parse_date,
    parse_doc_type,
    parse_fields,
    parse_status,
    read_manifest,
)
from documents.intake.properties import FileProperties, file_properties
from documents.intake.report import FileOutcome, ImportReport, Outcome

__all__ = [
    "COLUMN_OF", "MANIFEST_COLUMNS", "YEAR_MAX", "YEAR_MIN", "FileOutcome", "FileProperties", "ImportReport",
    "ManifestError", "Outcome", "RegionKeys", "collect_files", "default_actor", "file_properties", "guess_region",
    "guess_type", "guess_year", "import_folder", "normalise_relpath", "parse_bool", "parse_date", "parse_doc_type",
    "parse_fields", "parse_status", "path_components", "read_manifest", "title_from_name",
]
