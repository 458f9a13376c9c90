"""Field names typed by a user (``--set``, a JSON of values) checked against a model's fields."""

from __future__ import annotations

from typing import Any

from documents.errors import ValidationError
from documents.generation import FieldSpec


def settable_names(fields: list[FieldSpec]) -> list[str]:
    """Names a user may give a value to: plain fields and ``organisation.part`` sub-fields."""
    names: list[str] = []
    for spec in fields:
        if spec.computed:
            continue
        names.append(spec.name)
        if spec.type == "organisation":
            names.extend(f"{spec.name}.{sub.name}" for sub in spec.subfields)
    return names


def check_known_fields(fields: list[FieldSpec], given: dict[str, Any], *, model: str) -> None:
    """Refuse values for fields the model does not have, naming the model's fields (in French)."""
    known = set(settable_names(fields))
    computed = {spec.name for spec in fields if spec.computed}
    unknown: list[str] = []
    for name, value in given.items():
        if isinstance(value, dict) and name in known:
            # drac.representant=… arrives as {"drac": {"representant": …}}: check each part.
            unknown.extend(f"{name}.{sub}" for sub in value if f"{name}.{sub}" not in known)
        elif name in computed:
            raise ValidationError(
                f"Le champ « {name} » du modèle « {model} » est calculé : il ne se saisit pas.",
                errors={name: "Champ calculé, ne se saisit pas."},
            )
        elif name not in known:
            unknown.append(name)
    if unknown:
        plural = "s" if len(unknown) > 1 else ""
        listed = ", ".join(f"« {n} »" for n in unknown)
        raise ValidationError(
            f"Champ{plural} inconnu{plural} pour le modèle « {model} » : {listed}. "
            f"Champs du modèle : {', '.join(settable_names(fields))}.",
            errors={n: "Ce modèle n'a pas ce champ." for n in unknown},
        )
