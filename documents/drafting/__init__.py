"""Drafting: fill the Word models with values from the database and file the drafts.

The pipeline of one draft is: model (a "modele" document, its current version) → fields
(catalogue + administrators' overrides) → values (prefilled from the reference data and
last year's draft, then typed) → ``validate_values`` → render in the sandboxed worker →
filed as a "brouillon" of the model's output type, with its provenance (model, model
version, exact input values) in ``drafting_generation``, in the same transaction.

Verbs take an explicit session and storage, check permissions, write the audit log and
commit, like ``documents.archive``.

The package, one module per job:

- ``constants``: field and output types, batch bounds;
- ``errors``: ``DraftingError``, ``TemplateRejected``, ``ValuesInvalid``;
- ``templates``: the models, their fields and the administrators' overrides;
- ``models``: loading the built-in models and uploading new ones;
- ``prefill``: values from the reference data and last year's draft;
- ``filing``: filing a rendered draft or a model in the archive;
- ``drafts``: one draft, its regeneration and provenance;
- ``pdf``: PDF renditions (LibreOffice);
- ``batch``: one draft per region in a single run;
- ``jobs``: batches run in the background.

Everything importers use is re-exported here.
"""

from __future__ import annotations

# ``generation``, ``NotFound`` and ``Document`` too: views and tests reach them through this package.
from documents import generation
from documents.drafting.amending import (
    amendable_agreements,
    drafts_an_avenant,
    with_amended_agreement,
)
from documents.drafting.batch import (
    NOTHING_PRODUCED,
    BatchResult,
    RegionOutcome,
    common_fields,
    generate_batch,
    grid_fields,
    parse_values_csv,
)
from documents.drafting.constants import (
    MAX_CSV_BYTES,
    OUTPUT_TYPES,
    PER_REGION_FIELDS,
    SCALAR_TYPES,
    STALE_BATCH,
)
from documents.drafting.drafts import (
    Draft,
    draft_generations,
    drafts_of_template,
    generate_draft,
    regenerate,
    validate,
)
from documents.drafting.errors import DraftingError, TemplateRejected, ValuesInvalid
from documents.drafting.jobs import (
    batch_interrupted,
    batch_zip_path,
    get_batch,
    run_batch,
    start_batch,
)
from documents.drafting.models import load_builtin_models, upload_template
from documents.drafting.pdf import (
    convert_to_pdf,
    make_pdf_rendition,
    pdf_available,
    rendition_path,
)
from documents.drafting.prefill import prefill, previous_generation
from documents.drafting.templates import (
    TemplateInfo,
    field_overrides,
    get_template,
    list_templates,
    read_bytes,
    set_field_override,
    template_fields,
)
from documents.errors import NotFound
from documents.models import Document

__all__ = [
    "MAX_CSV_BYTES",
    "NOTHING_PRODUCED",
    "OUTPUT_TYPES",
    "PER_REGION_FIELDS",
    "SCALAR_TYPES",
    "STALE_BATCH",
    "BatchResult",
    "Document",
    "Draft",
    "DraftingError",
    "NotFound",
    "RegionOutcome",
    "TemplateInfo",
    "TemplateRejected",
    "ValuesInvalid",
    "amendable_agreements",
    "batch_interrupted",
    "batch_zip_path",
    "common_fields",
    "convert_to_pdf",
    "draft_generations",
    "drafts_an_avenant",
    "drafts_of_template",
    "field_overrides",
    "generate_batch",
    "generate_draft",
    "generation",
    "get_batch",
    "get_template",
    "grid_fields",
    "list_templates",
    "load_builtin_models",
    "make_pdf_rendition",
    "parse_values_csv",
    "pdf_available",
    "prefill",
    "previous_generation",
    "read_bytes",
    "regenerate",
    "rendition_path",
    "run_batch",
    "set_field_override",
    "start_batch",
    "template_fields",
    "upload_template",
    "validate",
    "with_amended_agreement",
]
