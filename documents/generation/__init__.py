"""Word template engine: check, analyse and fill .docx models (docxtpl) safely.

A model is an ordinary Word file with Jinja tags (``{{ region_nom }}``,
``{%tr for a in annees %}``). Models are uploaded by administrators, so they are
treated as untrusted code:

- every template is parsed and rendered in a short-lived worker process with a
  wall-clock timeout, CPU and memory rlimits and an empty environment (no secret of
  the web app is visible there), inside a Jinja ``ImmutableSandboxedEnvironment``
  with ``autoescape=True``, an allowlist of filters, functions and methods, bounded
  string repetition and a bounded output size;
- the context holds plain values only (str, int, bool, Decimal turned into str,
  dates, lists and dicts of those), never ORM objects;
- ``check_template`` reports at upload time, naming the faulty tag, what would make
  generation fail later: Jinja syntax errors, tags cut across paragraphs or by Word
  markup that docxtpl cannot join again, unknown filters, forbidden constructs.

The field catalogue (``data/fields.json``) gives each field name a French label, a
type and whether it is required; ``validate_values`` turns what a user typed into
template values (dates and amounts formatted in French, amounts in words, totals).

The package, one module per job:

- ``limits``: bounds (time, memory, sizes) and data paths;
- ``errors``: ``TemplateError``;
- ``builtin``: the Word models shipped with the application;
- ``catalogue``: the field catalogue (``FieldSpec``, ``specs_for_names``);
- ``values``: validation of typed values into plain template values;
- ``sandbox``: the Jinja sandbox (allowlists, bounded repetition and output);
- ``package``: checks on the .docx package before any XML is parsed;
- ``analysis``: template analysis and its French messages (runs inside the worker);
- ``rendering``: filling a model in the current process;
- ``oneshot``: one fresh worker process per job (``check_template``, ``render``…);
- ``worker``: the long-lived ``RenderWorker`` and its pipe protocol.

Everything importers use is re-exported here.
"""

from __future__ import annotations

from documents.generation.analysis import ParsedModel
from documents.generation.builtin import (
    BUILTIN_MODELS,
    MODELS_DIR,
    BuiltinModel,
    builtin_model,
)
from documents.generation.catalogue import (
    FIELD_TYPES,
    FieldSpec,
    load_catalogue,
    sample_values,
    specs_for_names,
)
from documents.generation.errors import TemplateError
from documents.generation.limits import (
    CATALOGUE_PATH,
    DATA_DIR,
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_MEMORY,
    DEFAULT_TIMEOUT,
    MAX_REPEAT_LENGTH,
    MAX_TEMPLATE_BYTES,
    MAX_TEXT_LENGTH,
)
from documents.generation.oneshot import (
    TemplateReport,
    check_template,
    fields_for,
    render,
    template_fields,
)
from documents.generation.package import _MAIN_DOCX
from documents.generation.rendering import _render_in_process
from documents.generation.values import clean_text, plain_context, validate_values
from documents.generation.worker import (
    DEFAULT_WORKER_CPU_BUDGET,
    DEFAULT_WORKER_MAX_JOBS,
    WORKER_TEMPLATE_CACHE,
    RenderResult,
    RenderWorker,
    shared_worker,
)

__all__ = [
    "BUILTIN_MODELS",
    "CATALOGUE_PATH",
    "DATA_DIR",
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_MEMORY",
    "DEFAULT_TIMEOUT",
    "DEFAULT_WORKER_CPU_BUDGET",
    "DEFAULT_WORKER_MAX_JOBS",
    "FIELD_TYPES",
    "MAX_REPEAT_LENGTH",
    "MAX_TEMPLATE_BYTES",
    "MAX_TEXT_LENGTH",
    "MODELS_DIR",
    "WORKER_TEMPLATE_CACHE",
    "BuiltinModel",
    "FieldSpec",
    "ParsedModel",
    "RenderResult",
    "RenderWorker",
    "TemplateError",
    "TemplateReport",
    "_MAIN_DOCX",
    "_render_in_process",
    "builtin_model",
    "check_template",
    "clean_text",
    "fields_for",
    "load_catalogue",
    "plain_context",
    "render",
    "sample_values",
    "shared_worker",
    "specs_for_names",
    "template_fields",
    "validate_values",
]
