"""``intranet search``, ``intranet reindex``, ``intranet indexer`` and the index part of ``intranet check``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update

from documents.models import Document, IndexOutbox
from searchkit import archive_doc, close_index, drain

HOSTILE = ["region:93 OR a*", "region:XX OR coord*", "NOT region:11", "region:93 OR projection"]


@pytest.fixture(autouse=True)
def _closed_index(app: Any):
    yield
    close_index(app)


@pytest.fixture
def corpus(app: Any, db_session: Any) -> dict[str, Any]:
    docs = {
        "idf": archive_doc(app, db_session, "Convention coordination régionale IDF",
                           ["Projection à l'hôpital, coordination régionale."], region="11",
                           doc_type="convention", year=2010, status="signe"),
        "paca": archive_doc(app, db_session, "Convention secrète PACA",
                            ["Projection marseillaise, coordination régionale."], region="93",
                            doc_type="convention", year=2011),
    }
    drain(app)
    return docs


def test_search_prints_hits(runner: Any, corpus: dict[str, Any]) -> None:
    result = runner.invoke(args=["search", "hopital"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "1 résultat(s) pour « hopital »" in out
    assert f"[document:{corpus['idf'].id}] Convention coordination régionale IDF" in out
    assert "Convention · Île-de-France · 2010 · Signé · score" in out
    assert "Projection à l'hôpital" in out and "<mark>" not in out


def test_search_json_limit_and_user_scope(runner: Any, corpus: dict[str, Any]) -> None:
    everything = json.loads(runner.invoke(args=["search", "projection", "--json"]).stdout)
    assert everything["total"] == 2 and len(everything["items"]) == 2
    item = everything["items"][0]
    assert {"id", "title", "type", "region", "year", "score", "snippet"} <= set(item)
    limited = json.loads(runner.invoke(args=["search", "projection", "--json", "--limit", "1"]).stdout)
    assert limited["total"] == 2 and len(limited["items"]) == 1
    as_idf = json.loads(runner.invoke(args=["search", "projection", "--json", "--as", "idf@test.fr"]).stdout)
    assert [i["id"] for i in as_idf["items"]] == [corpus["idf"].id]
    assert {f["value"] for f in as_idf["facets"]["region"]} == {"11"}


@pytest.mark.parametrize("query", HOSTILE)
def test_search_as_a_regional_user_never_leaks(runner: Any, corpus: dict[str, Any], query: str) -> None:
    result = runner.invoke(args=["search", query, "--json", "--as", "idf@test.fr", "--limit", "100"])
    assert result.exit_code in (0, 2)
    assert "PACA" not in result.output and "marseillaise" not in result.output
    if result.exit_code == 0:
        data = json.loads(result.stdout)
        assert {i["region"] for i in data["items"]} <= {"11", "national"} and data["total"] <= 1


def test_search_errors_are_french(runner: Any, corpus: dict[str, Any]) -> None:
    bad = runner.invoke(args=["search", '"ouvert'])
    assert bad.exit_code == 2 and "guillemet" in bad.stderr
    unknown = runner.invoke(args=["search", "x", "--as", "personne@test.fr"])
    assert unknown.exit_code == 2 and "aucun compte" in unknown.stderr
    nothing = runner.invoke(args=["search", "hopitl"])
    assert nothing.exit_code == 0 and "Aucun résultat" in nothing.stdout and "Essayez plutôt : hopital" in nothing.stdout


def test_indexer_once_applies_the_outbox(runner: Any, app: Any, db_session: Any) -> None:
    doc = archive_doc(app, db_session, "Bilan régional 2012", ["Bilan des ateliers de pratique."])
    assert db_session.scalar(select(func.count()).select_from(IndexOutbox)) == 1
    result = runner.invoke(args=["indexer", "--once"])
    assert result.exit_code == 0, result.output
    assert "1 modification(s) appliquée(s)" in result.stdout and "0 en attente" in result.stdout
    found = json.loads(runner.invoke(args=["search", "ateliers", "--json"]).stdout)
    assert [i["id"] for i in found["items"]] == [doc.id]


def test_reindex_rebuilds_into_a_new_folder(runner: Any, app: Any, db_session: Any, corpus: dict[str, Any]) -> None:
    root = Path(app.config["INDEX_DIR"])
    before = (root / "CURRENT").read_text()
    # A change made behind the outbox's back is picked up by a full rebuild.
    db_session.execute(update(Document).where(Document.id == corpus["idf"].id).values(title="Titre corrigé"))
    db_session.commit()
    result = runner.invoke(args=["reindex", "--procs", "2"])
    assert result.exit_code == 0, result.output
    assert "Réindexation" in result.stderr, "progress bar"
    assert "Index reconstruit : 2 élément(s)" in result.stdout
    after = (root / "CURRENT").read_text()
    assert after != before and not (root / before).exists() and (root / after).is_dir()
    found = json.loads(runner.invoke(args=["search", "corrigé", "--json"]).stdout)
    assert [i["title"] for i in found["items"]] == ["Titre corrigé"]


@pytest.mark.parametrize("target,other", [("tantivy", "whoosh"), ("whoosh", "tantivy")])
def test_reindex_backend_switches_engine_atomically(runner: Any, app: Any, db_session: Any,
                                                    corpus: dict[str, Any], target: str, other: str) -> None:
    from documents.search import backend_of

    root = Path(app.config["INDEX_DIR"])
    assert runner.invoke(args=["reindex", "--backend", other]).exit_code == 0
    assert backend_of(root) == other
    before = (root / "CURRENT").read_text()
    result = runner.invoke(args=["reindex", "--backend", target])
    assert result.exit_code == 0, result.output
    assert f"moteur : {target}." in result.stdout
    after = (root / "CURRENT").read_text()
    # Built beside the old generation, then switched: the old one is gone, the new one serves.
    assert after != before and not (root / before).exists() and backend_of(root) == target
    as_idf = json.loads(runner.invoke(args=["search", "projection", "--json", "--as", "idf@test.fr"]).stdout)
    assert [i["id"] for i in as_idf["items"]] == [corpus["idf"].id]
    # Changes keep flowing through the outbox into the new engine's index.
    doc = archive_doc(app, db_session, "Bilan des ateliers", ["Ateliers de pratique au collège."], region="11")
    drain(app)
    found = json.loads(runner.invoke(args=["search", "ateliers", "--json"]).stdout)
    assert [i["id"] for i in found["items"]] == [doc.id]
    bad = runner.invoke(args=["reindex", "--backend", "lucene"])
    assert bad.exit_code != 0 and backend_of(root) == target


def test_check_reports_and_repairs_the_index(runner: Any, app: Any, db_session: Any,
                                             corpus: dict[str, Any]) -> None:
    clean = runner.invoke(args=["check", "--json"])
    report = json.loads(clean.stdout)
    assert clean.exit_code == 0 and report["stats"]["index_entries"] == 2
    db_session.execute(update(Document).where(Document.id == corpus["paca"].id).values(title="Renommé en douce"))
    db_session.commit()
    found = runner.invoke(args=["check"])
    assert found.exit_code == 1 and "est périmé dans l'index" in found.stdout
    fixed = runner.invoke(args=["check", "--repair"])
    assert fixed.exit_code == 0 and "Index corrigé" in fixed.stdout
    assert runner.invoke(args=["check"]).exit_code == 0
