"""The search indexer: entries from the database, outbox drain, rebuild, single loop, repair, several workers."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update

import samplefiles as sf
import testkit
from documents import archive, consistency, indexer, locking
from documents.models import Document, DraftingTemplate, IndexOutbox, Organisation, Quartier
from documents.search import IndexBusy, IndexEntry, SearchScope, entry_id, open_index, search, writing
from documents.storage import LocalStorage

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def store(data_dir: Path) -> LocalStorage:
    return LocalStorage(data_dir / "files")


@pytest.fixture
def factory(app: Any) -> Any:
    return app.extensions["db_factory"]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "ix"


@pytest.fixture
def index(root: Path):
    ix = indexer.ensure_index(root)
    yield ix
    ix.close()


def put(session, store, tmp_path: Path, title: str, paragraphs: list[str], *, region: str | None = "11",
        who: str = "admin", **meta: Any) -> Document:
    name = f"{title[:30]}.docx"
    path = sf.write_sample(tmp_path / "in" / uuid.uuid4().hex / name, sf.make_docx(paragraphs))
    return archive.archive_document(session, store, actor=testkit.user(session, who), path=path, filename=name,
                                    meta=archive.Metadata(title=title, region_code=region, **meta))


def ids(index, query: str, scope: SearchScope | None = None) -> set[str]:
    return {h.id for h in search(index, query, scope=scope or SearchScope.all(), per_page=100).hits}


def outbox(session) -> list[tuple[str, int, int]]:
    session.expire_all()
    return [tuple(r) for r in session.execute(
        select(IndexOutbox.object_type, IndexOutbox.object_id, IndexOutbox.attempts).order_by(IndexOutbox.id))]


def stored(index) -> dict[str, dict[str, Any]]:
    return index.stored_by_id()


# --------------------------------------------------------------------------- entries and drain


def test_entry_holds_current_version_and_metadata(app, db_session, store, factory, index, tmp_path) -> None:
    cnc = db_session.scalar(select(Organisation).where(Organisation.short_name == "CNC"))
    quartier = db_session.scalar(select(Quartier).where(Quartier.region_code == "11").order_by(Quartier.code))
    doc = put(db_session, store, tmp_path, "Convention DRAC Île-de-France", ["Le texte parle de l'hôpital."],
              doc_type="convention", year=2010, status="signe", keywords=["cinéma plein air"],
              party_ids=[cnc.id], quartier_codes=[quartier.code], signature_date=dt.date(2010, 3, 4))
    version_path = sf.write_sample(tmp_path / "v2.docx", sf.make_docx(["Nouvelle version : ateliers en prison."]))
    # A signed convention is locked: an administrator unlocks it (no index change) to add the version.
    locking.unlock_document(db_session, doc, actor=testkit.user(db_session, "admin"), reason="Annexe oubliée")
    archive.add_version(db_session, store, doc, actor=testkit.user(db_session, "admin"), path=version_path,
                        filename="v2.docx")
    db_session.commit()
    report = indexer.drain(factory, index)
    assert (report.rows, report.upserts, report.deletes) == (2, 1, 0), "two rows for one document: one update"
    assert outbox(db_session) == []

    eid = entry_id("document", doc.id)
    fields = stored(index)[eid]
    assert (fields["title"], fields["type"], fields["region"], fields["year"], fields["status"], fields["version"]) \
        == ("Convention DRAC Île-de-France", "convention", "11", "2010", "signe", "2")
    assert fields["date"] == dt.datetime(2010, 3, 4)
    assert ids(index, "prison") == {eid}, "the current version is indexed"
    assert ids(index, "hopital") == set(), "the previous version is not"
    assert ids(index, "partie:cnc") == {eid}
    assert ids(index, f"quartier:{quartier.code}") == {eid}
    assert ids(index, "CNC") == {eid}, "party names are searchable as plain words too"
    assert ids(index, "statut:signé annee:2010 type:convention") == {eid}
    national = put(db_session, store, tmp_path, "Protocole national", ["Signataires du protocole."], region=None)
    db_session.commit()
    indexer.drain(factory, index)
    assert stored(index)[entry_id("document", national.id)]["region"] == "national"


def test_trash_restore_purge_follow_the_database(app, db_session, store, factory, index, tmp_path) -> None:
    admin = testkit.user(db_session, "admin")
    doc = put(db_session, store, tmp_path, "Bilan régional", ["Bilan des ateliers de réalisation."])
    eid = entry_id("document", doc.id)
    db_session.commit()
    indexer.drain(factory, index)
    assert ids(index, "ateliers") == {eid}
    archive.trash_document(db_session, doc, actor=admin)
    db_session.commit()
    assert indexer.drain(factory, index).deletes == 1
    assert ids(index, "ateliers") == set()
    archive.restore_document(db_session, doc, actor=admin)
    db_session.commit()
    indexer.drain(factory, index)
    assert ids(index, "ateliers") == {eid}
    archive.trash_document(db_session, doc, actor=admin)
    archive.purge_document(db_session, store, doc, actor=admin)
    db_session.commit()
    report = indexer.drain(factory, index)
    assert report.deletes == 1 and report.rows == 2
    assert eid not in stored(index)


def test_rows_stay_until_the_index_commit(app, db_session, store, factory, index, tmp_path) -> None:
    doc = put(db_session, store, tmp_path, "Avenant", ["Avenant financier."])
    # Another writer holds the index lock: the drain gives up and the row stays.
    with writing(index):
        with pytest.raises(IndexBusy):
            db_session.commit()
            indexer.drain(factory, index, timeout=0.3)
    assert outbox(db_session) == [("document", doc.id, 0)]
    assert ids(index, "avenant") == set()
    db_session.commit()
    indexer.drain(factory, index)
    assert outbox(db_session) == [] and ids(index, "avenant") == {entry_id("document", doc.id)}


def test_a_failing_object_is_retried_counted_then_reported(app, db_session, store, factory, index, root,
                                                          tmp_path, data_dir) -> None:
    calls: list[int] = []

    def build(session, pks):
        calls.extend(pks)
        return {pk: (_ for _ in ()).throw(RuntimeError(f"compte rendu {pk} illisible")) for pk in pks}

    sources = (*indexer.SOURCES, indexer.IndexSource("minutes", build, lambda s: iter(()), lambda s, pks, allowed: {}))
    archive.enqueue(db_session, 7, object_type="minutes")
    doc = put(db_session, store, tmp_path, "Convention", ["Texte de convention."])
    db_session.commit()
    report = indexer.drain(factory, index, sources=sources)
    assert (report.rows, report.failed) == (1, 1), "the document goes through, the failing row waits"
    assert outbox(db_session) == [("minutes", 7, 1)]
    assert ids(index, "convention") == {entry_id("document", doc.id)}
    last_error = db_session.scalar(select(IndexOutbox.last_error))
    assert "compte rendu 7 illisible" in last_error
    for _ in range(indexer.MAX_ATTEMPTS):
        db_session.commit()
        indexer.drain(factory, index, sources=sources)
    assert outbox(db_session) == [("minutes", 7, indexer.MAX_ATTEMPTS)]
    tries = len(calls)
    db_session.commit()
    indexer.drain(factory, index, sources=sources)
    assert len(calls) == tries, "a row past MAX_ATTEMPTS is left aside"
    report = consistency.run_checks(db_session, LocalStorage(data_dir / "files"), data_dir=data_dir, checkpoint=db_session.commit,
                                    checkers=[indexer_checker(root)])
    assert [p.kind for p in report.problems] == ["index_outbox_failed"]


def indexer_checker(root: Path):
    """The registered checker, pointed at a test index folder."""

    def run(ctx):
        ctx.index_dir = root
        return consistency.check_search_index(ctx)

    return run


# --------------------------------------------------------------------------- rebuild and the loop


def test_reindex_rebuilds_with_processes_and_replays_changes_made_meanwhile(
        app, db_session, store, factory, root, tmp_path) -> None:
    docs = [put(db_session, store, tmp_path, f"Compte rendu {i}", [f"Réunion numéro {i} du comité."])
            for i in range(4)]
    seen: list[int] = []
    busy: list[bool] = []

    def progress(count: int) -> None:
        seen.append(count)
        if len(seen) == 1:
            # A change committed while the rebuild holds the drain lock: it must not be lost.
            other = factory()
            doc = other.get(Document, docs[0].id)
            meta = archive.Metadata.of(doc)
            meta.title = "Compte rendu renommé pendant la reconstruction"
            archive.update_metadata(other, doc, actor=testkit.user(other, "admin"), meta=meta)
            other.commit()
            other.close()
            live = open_index(root, create=False)
            try:
                db_session.commit()
                indexer.drain(factory, live, lock_timeout=0.2)
            except IndexBusy:
                busy.append(True)
            finally:
                live.close()

    db_session.commit()
    report = indexer.reindex_all(factory, root, procs=2, progress=progress)
    assert report.count == 4 and seen[-1] == 4
    assert busy == [True], "a drain waits while a rebuild runs"
    assert report.replayed.rows >= 1
    ix = open_index(root, create=False)
    try:
        fields = stored(ix)
        assert fields[entry_id("document", docs[0].id)]["title"] == "Compte rendu renommé pendant la reconstruction"
        assert ids(ix, "reunion") == {entry_id("document", d.id) for d in docs}
    finally:
        ix.close()
    assert not indexer.needs_reindex(root)
    generations = [p.name for p in root.iterdir() if p.name.startswith("gen-")]
    assert len(generations) == 1, "the old generation is removed after the swap"


@pytest.mark.parametrize("damage", ["delete", "garbage"])
def test_missing_or_corrupted_index_is_rebuilt_by_the_indexer(app, db_session, store, factory, root, tmp_path,
                                                              damage) -> None:
    doc = put(db_session, store, tmp_path, "Cahier des charges", ["Cahier des charges régional."])
    db_session.commit()
    indexer.run_indexer(factory, root, once=True, procs=1)
    if damage == "delete":
        shutil.rmtree(root)
    else:
        current = root / (root / "CURRENT").read_text().strip()
        for seg in current.glob("*.seg"):
            seg.write_bytes(b"\x00garbage")
    db_session.commit()
    report = indexer.run_indexer(factory, root, once=True, procs=1)
    assert report.failed == 0
    ix = open_index(root, create=False)
    try:
        assert ids(ix, "cahier charges") == {entry_id("document", doc.id)}
    finally:
        ix.close()


def test_only_one_indexer_loop_runs(app, factory, root) -> None:
    stop = threading.Event()
    started = threading.Event()
    first = threading.Thread(target=indexer.run_indexer, args=(factory, root),
                             kwargs={"interval": 0.05, "stop": stop, "on_cycle": lambda r: started.set()})
    first.start()
    try:
        assert started.wait(10)
        with pytest.raises(indexer.IndexerRunning) as err:
            indexer.run_indexer(factory, root, once=True)
        assert "Un indexeur tourne déjà" in err.value.message
    finally:
        stop.set()
        first.join(10)
    assert not first.is_alive()
    indexer.run_indexer(factory, root, once=True)  # the lock is free again


def test_loop_applies_changes_within_seconds(app, db_session, store, factory, root, tmp_path) -> None:
    stop = threading.Event()
    cycles: list[indexer.DrainReport] = []

    def wait_cycles(n: int) -> None:
        deadline = time.monotonic() + 10
        while len(cycles) < n:
            assert time.monotonic() < deadline, "the indexer loop stalled"
            time.sleep(0.01)

    loop = threading.Thread(target=indexer.run_indexer, args=(factory, root),
                            kwargs={"interval": 0.05, "stop": stop, "on_cycle": cycles.append})
    loop.start()
    try:
        wait_cycles(1)
        doc = put(db_session, store, tmp_path, "Étude cinéma rural", ["Étude sur les salles rurales."])
        db_session.commit()
        committed = time.monotonic()
        wait_cycles(len(cycles) + 2)  # a whole cycle began after the commit
        assert time.monotonic() - committed < 5
        assert sum(r.upserts for r in cycles) == 1
        ix = open_index(root, create=False)
        try:
            assert ids(ix, "salles rurales") == {entry_id("document", doc.id)}
        finally:
            ix.close()
    finally:
        stop.set()
        loop.join(10)


# --------------------------------------------------------------------------- searching


def test_search_archive_scopes_and_drops_hits_the_database_no_longer_shows(
        app, db_session, store, factory, index, tmp_path) -> None:
    idf = put(db_session, store, tmp_path, "Convention IDF", ["Projection en plein air à Paris."], region="11")
    paca = put(db_session, store, tmp_path, "Convention PACA", ["Projection en plein air à Nice."], region="93")
    db_session.commit()
    indexer.drain(factory, index)
    as_idf = indexer.search_archive(db_session, index, "projection", user=testkit.user(db_session, "idf"))
    assert [h.id for h in as_idf.hits] == [entry_id("document", idf.id)] and as_idf.total == 1
    assert "<mark>Projection</mark>" in as_idf.hits[0].snippet_html, "snippet from the stored extraction"
    everything = indexer.search_archive(db_session, index, "projection", user=None, all_regions=True)
    assert everything.total == 2
    nobody = indexer.search_archive(db_session, index, "projection", user=None)
    assert nobody.total == 0
    # Moved to PACA in the database, not yet drained: the IDF user must not see it any more.
    db_session.execute(update(Document).where(Document.id == idf.id).values(region_code="93"))
    db_session.commit()
    lagging = indexer.search_archive(db_session, index, "projection", user=testkit.user(db_session, "idf"))
    assert lagging.hits == () and lagging.total == 0
    assert paca.id


def test_search_archive_leaves_drafting_models_out_unless_asked(
        app, db_session, store, factory, index, tmp_path) -> None:
    report = put(db_session, store, tmp_path, "Bilan IDF", ["Projection pour la région."], region="11")
    model = put(db_session, store, tmp_path, "Modèle de convention", ["Projection pour {{ region_nom }}."],
                region=None, doc_type="modele")
    db_session.add(DraftingTemplate(document_id=model.id, slug="modele-test", output_type="convention"))
    db_session.commit()
    indexer.drain(factory, index)
    admin = testkit.user(db_session, "admin")
    default = indexer.search_archive(db_session, index, "projection", user=admin)
    assert [h.id for h in default.hits] == [entry_id("document", report.id)] and default.total == 1
    assert "modele" not in {f.value for f in default.facets.get("type", ())}
    asked = indexer.search_archive(db_session, index, "projection", user=admin, include_models=True)
    assert {h.id for h in asked.hits} == {entry_id("document", report.id), entry_id("document", model.id)}
    assert asked.total == 2 and "modele" in {f.value for f in asked.facets["type"]}
    # Sorting by date goes through the other collection path: the exclusion holds there too.
    dated = indexer.search_archive(db_session, index, "projection", user=admin, sort="date")
    assert [h.id for h in dated.hits] == [entry_id("document", report.id)] and dated.total == 1


def test_search_inside_versions(app, db_session, store, tmp_path) -> None:
    doc = put(db_session, store, tmp_path, "Convention pluriannuelle", ["Ateliers à l'hôpital de jour."])
    for i, text in enumerate(["Séances en milieu carcéral.", "Séances à l'hôpital et en prison."], start=2):
        path = sf.write_sample(tmp_path / f"v{i}.docx", sf.make_docx([text]))
        archive.add_version(db_session, store, doc, actor=testkit.user(db_session, "admin"), path=path,
                            filename=f"v{i}.docx")
    results = indexer.search_versions(db_session, doc, "hopital")
    assert sorted(h.version for h in results.hits) == [1, 3]
    assert all("<mark>hôpital</mark>" in h.snippet_html for h in results.hits)
    dated = indexer.search_versions(db_session, doc, "seances", sort="date")
    assert [h.version for h in dated.hits] == [3, 2]
    none = indexer.search_versions(db_session, doc, "hopitl")
    assert none.total == 0 and none.suggestion == "hopital"


# --------------------------------------------------------------------------- intranet check


def test_check_finds_and_repairs_index_drift(app, db_session, store, factory, index, root, tmp_path,
                                             data_dir) -> None:
    docs = [put(db_session, store, tmp_path, f"Document {i}", [f"Texte numéro {i}."]) for i in range(5)]
    db_session.commit()
    indexer.drain(factory, index)
    run = lambda **kw: consistency.run_checks(db_session, store, data_dir=data_dir, checkpoint=db_session.commit,  # noqa: E731
                                              checkers=[indexer_checker(root)], **kw)
    clean = run()
    assert clean.ok and clean.stats["index_entries"] == 5
    # Drift made behind the outbox's back.
    with writing(index) as w:
        w.delete(entry_id("document", docs[0].id))
        w.upsert(IndexEntry(id=entry_id("document", 9999), kind="document", title="Fantôme"))
    db_session.execute(update(Document).where(Document.id == docs[1].id).values(title="Titre changé"))
    db_session.execute(update(Document).where(Document.id == docs[2].id)
                       .values(deleted_at=dt.datetime.now(dt.UTC)))
    db_session.commit()
    # A change still waiting in the outbox is lag, not a problem.
    meta = archive.Metadata.of(docs[3])
    meta.title = "En attente"
    archive.update_metadata(db_session, docs[3], actor=testkit.user(db_session, "admin"), meta=meta)

    found = run()
    by_kind = sorted((p.kind, p.subject) for p in found.problems)
    assert by_kind == sorted([("index_missing", entry_id("document", docs[0].id)),
                              ("index_stale", entry_id("document", docs[1].id)),
                              ("index_trashed", entry_id("document", docs[2].id)),
                              ("index_orphan", entry_id("document", 9999))])
    assert found.stats["index_pending"] == 1
    repaired = run(repair=True)
    assert all(p.repaired for p in repaired.problems) and repaired.ok
    again = run()
    assert again.ok and again.problems == []
    fields = stored(index)
    assert fields[entry_id("document", docs[1].id)]["title"] == "Titre changé"
    assert fields[entry_id("document", docs[3].id)]["title"] == "En attente"
    assert entry_id("document", docs[2].id) not in fields and entry_id("document", 9999) not in fields


def test_check_rebuilds_an_unreadable_index(app, db_session, store, factory, index, root, tmp_path,
                                            data_dir) -> None:
    doc = put(db_session, store, tmp_path, "Protocole", ["Protocole national de 2009."], region=None)
    db_session.commit()
    indexer.drain(factory, index)
    index.close()
    current = root / (root / "CURRENT").read_text().strip()
    for seg in [*current.glob("*.seg"), *current.glob("meta.json")]:  # Whoosh, tantivy
        seg.write_bytes(b"broken")
    checker = [indexer_checker(root)]
    found = consistency.run_checks(db_session, store, data_dir=data_dir, checkpoint=db_session.commit, checkers=checker)
    assert [p.kind for p in found.problems] == ["index_unreadable"] and not found.ok
    repaired = consistency.run_checks(db_session, store, data_dir=data_dir, checkpoint=db_session.commit, checkers=checker,
                                      repair=True)
    assert repaired.ok
    ix = open_index(root, create=False)
    try:
        assert ids(ix, "protocole") == {entry_id("document", doc.id)}
    finally:
        ix.close()


def test_check_is_silent_without_index_while_changes_wait(app, db_session, store, tmp_path, data_dir) -> None:
    put(db_session, store, tmp_path, "Convention", ["Convention en attente d'indexation."])
    report = consistency.run_checks(db_session, store, data_dir=data_dir, checkpoint=db_session.commit,
                                    checkers=[indexer_checker(tmp_path / "absent")])
    assert report.ok and report.stats == {}


# --------------------------------------------------------------------------- several worker processes lose no update

WORKER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from documents import archive
    from documents.db import make_engine, make_session_factory
    from documents.models import User
    from documents.storage import LocalStorage
    from sqlalchemy import select
    import samplefiles as sf

    url, files, tmp, tag, count = sys.argv[1], sys.argv[2], Path(sys.argv[3]), sys.argv[4], int(sys.argv[5])
    engine = make_engine(url)
    factory = make_session_factory(engine)
    store = LocalStorage(files)
    for i in range(count):
        session = factory()
        admin = session.scalar(select(User).where(User.email == "admin@test.fr"))
        path = sf.write_sample(tmp / f"{tag}-{i}.docx", sf.make_docx([f"Travailleur {tag} document {i} cinéma."]))
        doc = archive.archive_document(session, store, actor=admin, path=path, filename=f"{tag}-{i}.docx",
                                       meta=archive.Metadata(title=f"{tag} {i}", region_code="11"))
        session.commit()  # each change is its own request, committed by its edge
        if i % 3 == 1:
            meta = archive.Metadata.of(doc)
            meta.title = f"{tag} {i} renommé"
            archive.update_metadata(session, doc, actor=admin, meta=meta)
            session.commit()
        if i % 4 == 2:
            archive.trash_document(session, doc, actor=admin)
            session.commit()
        session.close()
    engine.dispose()
""")


def test_two_worker_processes_and_the_indexer_agree_with_the_database(app, db_session, database_url, factory,
                                                                       root, tmp_path, data_dir) -> None:
    script = tmp_path / "worker.py"
    script.write_text(WORKER, encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), str(REPO / "tests")]))
    stop = threading.Event()
    loop = threading.Thread(target=indexer.run_indexer, args=(factory, root),
                            kwargs={"interval": 0.02, "stop": stop, "procs": 1})
    loop.start()
    try:
        workers = []
        for tag in ("A", "B"):
            work = tmp_path / f"w{tag}"
            work.mkdir()
            workers.append(subprocess.Popen(
                [sys.executable, str(script), database_url, str(data_dir / "files"), str(work), tag, "12"],
                env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
        for proc in workers:
            out, err = proc.communicate(timeout=240)
            assert proc.returncode == 0, err
    finally:
        stop.set()
        loop.join(30)
    assert not loop.is_alive()
    db_session.commit()
    indexer.run_indexer(factory, root, once=True)  # what arrived after the loop's last cycle
    db_session.expire_all()
    live = {entry_id("document", i): t for i, t in db_session.execute(
        select(Document.id, Document.title).where(Document.deleted_at.is_(None)))}
    assert len(live) == 2 * 12 - 2 * 3, "3 of 12 trashed by each worker"
    assert db_session.scalar(select(func.count()).select_from(IndexOutbox)) == 0
    ix = open_index(root, create=False)
    try:
        indexed = {eid: f["title"] for eid, f in stored(ix).items()}
        assert indexed == live
        assert ids(ix, "cinema") == set(live)
    finally:
        ix.close()
    report = consistency.run_checks(db_session, LocalStorage(data_dir / "files"), data_dir=data_dir, checkpoint=db_session.commit,
                                    checkers=[indexer_checker(root)])
    assert report.ok, [p.message for p in report.problems]


def test_every_registered_source_has_its_loaders(db_session) -> None:
    """The registry is explicit: a source whose loader moved or vanished fails here, not in the indexer."""
    from documents.search.sources import SOURCES

    assert [s.object_type for s in SOURCES] == ["document", "meeting"]
    for source in SOURCES:
        assert dict(source.build(db_session, [987654])) == {987654: None}, source.object_type
        assert dict(source.texts(db_session, [987654], None)) == {}, source.object_type
        assert [list(ids) for ids in source.batches(db_session)] == [], source.object_type


def test_a_scheduled_meeting_is_indexed_through_its_registered_source(app, db_session, factory, index) -> None:
    """Meetings reach the index by the registry (outbox row -> source -> entry), scoped to their region."""
    import datetime as _dt

    from documents.committees.dates import paris_datetime
    from documents.committees.meetings import MeetingInput, schedule_meeting

    session = testkit.with_committees(db_session)
    day = _dt.date(2026, 3, 12)
    meeting = schedule_meeting(
        session, testkit.committee(session, "regional-11"), actor=testkit.user(session, "idf"), notifier=None,
        data=MeetingInput(
            starts_at=paris_datetime(day, _dt.time(14)),
            ends_at=paris_datetime(day, _dt.time(16)), title="Comité de printemps",
            place="Salle Méliès", agenda=["Programmation des ateliers de Villetaneuse"]))
    session.commit()
    assert indexer.drain(factory, index).upserts >= 1
    assert ids(index, "Villetaneuse") == {entry_id("meeting", meeting.id)}
    found = indexer.search_archive(session, index, "Villetaneuse", user=testkit.user(session, "idf"))
    assert [h.id for h in found.hits] == [entry_id("meeting", meeting.id)]
    assert indexer.search_archive(session, index, "Villetaneuse", user=testkit.user(session, "paca")).total == 0
