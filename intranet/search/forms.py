"""The search form: a GET form (no CSRF: searching changes nothing), shared by the two search pages."""

from __future__ import annotations

import re
from typing import Any

from wtforms import SelectField, StringField
from wtforms.validators import Length, Optional

from documents.search import MAX_QUERY_LENGTH
from intranet.forms import FrenchForm, choices

SORTS = {"relevance": "Pertinence", "date": "Date (plus récent d'abord)"}
#: Facet filters read from the query string, with their French headings.
FACETS = {"type": "Type", "region": "Région", "year": "Année", "status": "Statut"}
MAX_FILTER_VALUES = 30
MAX_FILTER_LENGTH = 40


class SearchForm(FrenchForm):
    """Query box and sort order; facet checkboxes are read by ``selected_filters``."""

    class Meta:
        csrf = False

    q = StringField(
        "Rechercher",
        description='Mots, "expression exacte", OR, NOT ou -mot, et filtres comme type:convention '
                    "ou annee:2010.",
        # Longer queries are refused by the engine with its own French message.
        validators=[Optional(), Length(max=MAX_QUERY_LENGTH * 2)],
    )
    sort = SelectField("Trier par", choices=choices(SORTS.items()), default="relevance",
                       validate_choice=False)

    def sort_value(self) -> str:
        """The sort order, ``relevance`` when the value is unknown."""
        return self.sort.data if self.sort.data in SORTS else "relevance"


def selected_filters(args: Any) -> dict[str, list[str]]:
    """Facet values chosen in the query string (``type=convention&region=11``), bounded in number and size."""
    out: dict[str, list[str]] = {}
    for name in FACETS:
        values = []
        for value in args.getlist(name)[:MAX_FILTER_VALUES]:
            value = value.strip()[:MAX_FILTER_LENGTH]
            if value and value not in values:
                values.append(value)
        if values:
            out[name] = values
    return out


#: ``type:modele`` typed in the query asks for the drafting models as plainly as the facet does.
_MODEL_QUERY = re.compile(r"(?<![\w-])type\s*:\s*\"?mod[eè]les?\b", re.IGNORECASE)


def wants_models(args: Any, query: str, filters: dict[str, list[str]]) -> bool:
    """True if the drafting models belong in the results: ``modeles=1``, the type facet or ``type:modele``."""
    return ((args.get("modeles") or "") in {"1", "on", "true", "oui"}
            or "modele" in filters.get("type", []) or bool(_MODEL_QUERY.search(query)))
