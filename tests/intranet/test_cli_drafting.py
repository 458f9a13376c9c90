"""``intranet templates list|load`` and ``intranet generate`` (one region, all regions from a CSV)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from documents.formatting import format_amount, parse_amount
from documents.models import Document, DraftingTemplate, Generation, Region
from intranet.cli import BOOTSTRAP_HOOKS
from intranet.drafting.cli import load_models_hook
from testkit import AMOUNTS, docx_text, fill_organisations


@pytest.fixture
def loaded(runner: Any, db_session: Any) -> Any:
    result = runner.invoke(args=["templates", "load"])
    assert result.exit_code == 0, result.output
    fill_organisations(db_session)
    return runner


def test_load_is_a_bootstrap_step_and_idempotent(loaded: Any, db_session: Any) -> None:
    assert load_models_hook in BOOTSTRAP_HOOKS
    result = loaded.invoke(args=["templates", "load"])
    assert result.exit_code == 0 and result.output.count("inchangé") == 5
    assert db_session.scalar(select(func.count()).select_from(DraftingTemplate)) == 5


def test_templates_list(loaded: Any) -> None:
    result = loaded.invoke(args=["templates", "list", "--json"])
    assert result.exit_code == 0, result.output
    items = json.loads(result.output)
    assert [i["slug"] for i in items if i["slug"] == "avenant"] == ["avenant"]
    convention = next(i for i in items if i["slug"] == "convention-drac-coordination")
    assert {"name": "montant_total", "label": "Montant total", "type": "montant", "required": False,
            "computed": True} in convention["fields"]
    text = loaded.invoke(args=["templates", "list"]).output
    assert "convention-drac-coordination  –  Convention annuelle" in text and "montant_formation*" in text


def test_generate_one_region(loaded: Any, db_session: Any, tmp_path: Path) -> None:
    values = tmp_path / "valeurs.json"
    values.write_text(json.dumps({**AMOUNTS, "drac": {"representant": "Madame Claire Lemoine"}}), encoding="utf-8")
    out = tmp_path / "sortie" / "convention.docx"
    result = loaded.invoke(args=["generate", "convention-drac-coordination", "--region", "11", "--year", "2026",
                                 "--values", str(values), "--set", "montant_formation=4 000",
                                 "--set", "lieu_signature=Saint-Denis & Paris", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "Brouillon classé : document n°" in result.output
    text = docx_text(out.read_bytes())
    assert "Madame Claire Lemoine" in text and "Saint-Denis & Paris" in text
    assert format_amount(parse_amount("4000")) in text
    row = db_session.scalar(select(Generation))
    assert row.input_values["montant_formation"] == "4 000" and row.region_code == "11"


def test_generate_refuses_bad_values_with_field_errors(loaded: Any, db_session: Any, tmp_path: Path) -> None:
    result = loaded.invoke(args=["generate", "convention-drac-coordination", "--region", "11",
                                 "--set", "montant_formation=douze", "--out", str(tmp_path / "x.docx")])
    assert result.exit_code == 2
    assert "montant_formation : " in result.output and "douze" in result.output
    assert not (tmp_path / "x.docx").exists()
    unknown = loaded.invoke(args=["generate", "inconnu", "--region", "11", "--out", str(tmp_path / "y.docx")])
    assert unknown.exit_code == 2 and "Modèle introuvable" in unknown.output
    assert db_session.scalar(select(func.count()).select_from(Generation)) == 0


def test_generate_all_regions_from_csv(loaded: Any, db_session: Any, tmp_path: Path) -> None:
    # « --all-regions » means today's 18 regions.
    codes = list(db_session.scalars(select(Region.code).where(Region.valid_until.is_(None)).order_by(Region.code)))
    assert len(codes) == 18
    lines = ["region;" + ";".join(AMOUNTS)]
    for code in codes:
        amounts = dict(AMOUNTS)
        if code == "93":
            amounts["montant_formation"] = "trois mille"
        lines.append(f"{code};" + ";".join(amounts.values()))
    csv_path = tmp_path / "valeurs.csv"
    csv_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "lot.zip"
    result = loaded.invoke(args=["generate", "convention-drac-coordination", "--all-regions", "--year", "2026",
                                 "--values", str(csv_path), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert f"{len(codes) - 1} brouillon(s)" in result.output and "93 Provence-Alpes-Côte d'Azur : invalide" in result.output
    with zipfile.ZipFile(out) as bundle:
        assert len([n for n in bundle.namelist() if n.endswith(".docx")]) == len(codes) - 1
    drafts = db_session.scalar(select(func.count()).select_from(Document).where(Document.doc_type == "convention"))
    assert drafts == len(codes) - 1
