"""Word models shipped with the application (built by ``scripts/build_models.py``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from documents.generation.errors import TemplateError
from documents.generation.limits import DATA_DIR

#: Where the built .docx models live (a test points it at a fresh build).
MODELS_DIR = DATA_DIR / "models"

# --------------------------------------------------------------------------- built-in models


@dataclass(frozen=True)
class BuiltinModel:
    """A Word model shipped with the application, built by ``scripts/build_models.py``."""

    slug: str
    title: str
    doc_type: str
    description: str

    @property
    def path(self) -> Path:
        """Where the .docx lives in the package."""
        return MODELS_DIR / f"{self.slug}.docx"

    def read_bytes(self) -> bytes:
        """The .docx content."""
        return self.path.read_bytes()


BUILTIN_MODELS: tuple[BuiltinModel, ...] = (
    BuiltinModel(
        slug="convention-drac-coordination",
        title="Convention annuelle DRAC – coordination régionale",
        doc_type="convention",
        description=(
            "Convention annuelle entre la DRAC et la coordination régionale : missions 1 à 6, "
            "moyens sur quatre lignes, versement, durée, bilan annuel, signatures."
        ),
    ),
    BuiltinModel(
        slug="avenant",
        title="Avenant à une convention",
        doc_type="avenant",
        description="Avenant modifiant les montants ou la date d'échéance d'une convention.",
    ),
    BuiltinModel(
        slug="contrat-objectifs",
        title="Contrat d'objectifs",
        doc_type="contrat_objectifs",
        description=(
            "Contrat d'objectifs annuel ou pluriannuel entre l'État (ou une Région) et une "
            "coordination : objectifs A à E, montants par année."
        ),
    ),
    BuiltinModel(
        slug="convention-cadre-signataires",
        title="Protocole national – renouvellement par les signataires",
        doc_type="protocole",
        description="Renouvellement du protocole national, un bloc de signature par signataire.",
    ),
    BuiltinModel(
        slug="compte-rendu-comite",
        title="Compte rendu de comité de pilotage",
        doc_type="compte_rendu",
        description=(
            "Compte rendu d'un comité de pilotage : présents, excusés, ordre du jour, "
            "décisions, prochaine réunion."
        ),
    ),
)


def builtin_model(slug: str) -> BuiltinModel:
    """The built-in model with this slug, or ``TemplateError`` (404)."""
    for model in BUILTIN_MODELS:
        if model.slug == slug:
            return model
    raise TemplateError(f"Modèle intégré inconnu : « {slug} ».", status=404)
