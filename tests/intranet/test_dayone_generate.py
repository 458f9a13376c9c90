"""``intranet generate`` refuses values for fields the model does not have."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from documents.models import Generation
from testkit import AMOUNTS, fill_organisations


@pytest.fixture
def loaded(runner: Any, db_session: Any) -> Any:
    result = runner.invoke(args=["templates", "load"])
    assert result.exit_code == 0, result.output
    fill_organisations(db_session)
    return runner


def test_set_of_an_unknown_field_is_refused_with_the_models_fields(loaded: Any, db_session: Any,
                                                                   tmp_path: Path) -> None:
    out = tmp_path / "x.docx"
    result = loaded.invoke(args=["generate", "convention-drac-coordination", "--region", "11", "--year", "2026",
                                 *[f"--set={k}={v}" for k, v in AMOUNTS.items()],
                                 "--set", "lieu_signatur=Lyon", "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert ("Erreur : Champ inconnu pour le modèle « convention-drac-coordination » : « lieu_signatur ». "
            "Champs du modèle : ") in result.output
    listed = result.output.split("Champs du modèle : ", 1)[1]
    for name in ("lieu_signature", "montant_formation", "drac.representant"):
        assert name in listed
    assert "lieu_signatur : Ce modèle n'a pas ce champ." in result.output
    assert not out.exists()
    assert db_session.scalar(select(func.count()).select_from(Generation)) == 0


def test_unknown_organisation_part_and_json_keys_are_refused(loaded: Any, db_session: Any, tmp_path: Path) -> None:
    out = tmp_path / "x.docx"
    part = loaded.invoke(args=["generate", "convention-drac-coordination", "--region", "11",
                               "--set", "drac.telephon=01", "--out", str(out)])
    assert part.exit_code == 2 and "« drac.telephon »" in part.output
    values = tmp_path / "valeurs.json"
    values.write_text(json.dumps({**AMOUNTS, "montant_total_typo": "3"}), encoding="utf-8")
    from_json = loaded.invoke(args=["generate", "convention-drac-coordination", "--region", "11",
                                    "--values", str(values), "--out", str(out)])
    assert from_json.exit_code == 2 and "« montant_total_typo »" in from_json.output
    batch = loaded.invoke(args=["generate", "convention-drac-coordination", "--all-regions",
                                "--set", "inconnu=1", "--out", str(tmp_path / "lot.zip")])
    assert batch.exit_code == 2 and "« inconnu »" in batch.output
    assert db_session.scalar(select(func.count()).select_from(Generation)) == 0
