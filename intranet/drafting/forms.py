"""Forms of the drafting feature: model upload, field edit, and the dynamic value forms."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from flask_wtf.file import FileField
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from documents.drafting import OUTPUT_TYPES, SCALAR_TYPES
from documents.generation import FieldSpec
from documents.models import DocType
from intranet.forms import FrenchForm, choices

#: Rows of a list kept from a form post (more are ignored: no convention has hundreds of lines).
MAX_ROWS = 200
_ROW_KEY = re.compile(r"^(?P<name>[A-Za-z_][A-Za-z0-9_]*)\[(?P<index>\d{1,3})\]\.(?P<sub>[A-Za-z_][A-Za-z0-9_]*)$")


class TemplateUploadForm(FrenchForm):
    """An administrator files a Word model."""

    file = FileField("Modèle Word (.docx)", validators=[DataRequired("Choisissez un fichier .docx.")])
    title = StringField("Titre du modèle", validators=[DataRequired("Le titre est obligatoire."), Length(max=300)])
    output_type = SelectField("Type des brouillons produits")
    description = TextAreaField("Description", validators=[Optional(), Length(max=2000)])

    def setup(self) -> None:
        """Fill the choices."""
        self.output_type.choices = choices((t, DocType(t).label) for t in OUTPUT_TYPES)


class TemplateVersionForm(FrenchForm):
    """An administrator files a new version of a model."""

    file = FileField("Nouvelle version (.docx)", validators=[DataRequired("Choisissez un fichier .docx.")])


class FieldForm(FrenchForm):
    """An administrator changes a field of the catalogue."""

    label = StringField("Libellé", validators=[DataRequired("Le libellé est obligatoire."), Length(max=300)])
    type = SelectField("Type")
    required = BooleanField("Obligatoire")
    default = StringField("Valeur par défaut", validators=[Optional(), Length(max=2000)])

    def setup(self, spec: FieldSpec) -> None:
        """Offer only the types this field may take."""
        kinds = SCALAR_TYPES if spec.type in SCALAR_TYPES and not spec.computed else (spec.type,)
        self.type.choices = choices((k, k) for k in kinds)


def input_id(name: str) -> str:
    """HTML id of the input named ``name`` (``drac.nom`` -> ``f-drac-nom``)."""
    return "f-" + re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-")


def raw_from_form(fields: list[FieldSpec], form: Mapping[str, Any]) -> dict[str, Any]:
    """The typed values of a generation form, shaped as ``validate_values`` reads them."""
    raw: dict[str, Any] = {}
    rows: dict[str, dict[int, dict[str, str]]] = {}
    for key in form.keys():
        match = _ROW_KEY.match(key)
        if match:
            rows.setdefault(match["name"], {}).setdefault(int(match["index"]), {})[match["sub"]] = form.get(key, "")
    for spec in fields:
        if spec.computed:
            continue
        if spec.type == "organisation":
            raw[spec.name] = {sub.name: form.get(f"{spec.name}.{sub.name}", "") for sub in spec.subfields}
        elif spec.type == "liste" and spec.subfields:
            found = rows.get(spec.name, {})
            raw[spec.name] = [found[i] for i in sorted(found)[:MAX_ROWS]]
        elif spec.name in form:
            raw[spec.name] = form.get(spec.name, "")
    return raw


def rows_for_display(spec: FieldSpec, value: Any, *, blank: int = 2) -> list[dict[str, Any]]:
    """Rows of a list field for the form: the current ones plus ``blank`` empty lines."""
    rows = [r for r in value if isinstance(r, dict)] if isinstance(value, list) else []
    return rows + [{} for _ in range(blank)]


def list_text(value: Any) -> str:
    """A list of plain items as textarea text (one per line)."""
    if isinstance(value, list):
        return "\n".join(str(v) for v in value)
    return "" if value is None else str(value)
