"""Search engine: French analysis, query language, bounds, scope, results, index lifecycle.

Every test runs on a real index in ``tmp_path``, once per engine (Whoosh and tantivy),
except those that check Whoosh's own internals (``WHOOSH_ONLY``).
"""

from __future__ import annotations

import threading
import time
from datetime import datetime
from pathlib import Path

import pytest

from documents.errors import DomainError
from documents.search import (
    BACKENDS,
    MAX_PREFIX_EXPANSION,
    MAX_QUERY_LENGTH,
    IndexBusy,
    IndexEntry,
    SearchIndex,
    SearchIndexError,
    SearchQueryError,
    SearchScope,
    SearchTimeout,
    build_schema,
    entry_id,
    fold,
    french_analyzer,
    open_index,
    rebuild,
    search,
    writing,
)
from documents.search.tantivy_engine import french_stems

ALL = SearchScope.all()
REGION_11 = SearchScope.only({"11", "national"})

TEXTS: dict[str, str] = {
    "document:1": (
        "Convention entre la DRAC et la coordination régionale. L’hôpital de Créteil accueille "
        "les ateliers ; le procès-verbal du comité est joint. Kyrnéa International anime le réseau."
    ),
    "document:2": (
        "Bilan régional de la coordination en Provence-Alpes-Côte d'Azur : projections à Marseille, "
        "quartier Saint-Barthélemy, comité de pilotage régional du 12 mars."
    ),
    "document:3": (
        "Protocole national signé par les cinq signataires ; coordination nationale confiée à "
        "l'association Kyrnéa International, tacite reconduction."
    ),
    "minutes:4": (
        "Compte rendu du comité de pilotage régional d'Île-de-France : les procès-verbaux "
        "précédents sont approuvés. Ateliers de pratique en milieu hospitalier."
    ),
}

ENTRIES = [
    IndexEntry(
        id="document:1", kind="document", title="Convention coordination régionale Île-de-France 2010",
        text=TEXTS["document:1"], type="convention", region="11", year=2010, status="signé",
        version=2, parties=("DRAC Île-de-France", "Cinéma Le Méliès"), keywords=("hôpital",),
        date=datetime(2010, 3, 1),
    ),
    IndexEntry(
        id="document:2", kind="document", title="Bilan PACA 2011", text=TEXTS["document:2"],
        type="bilan", region="93", year=2011, status="brouillon", quartiers=("Saint-Barthélemy",),
        date=datetime(2011, 6, 1),
    ),
    IndexEntry(
        id="document:3", kind="document", title="Protocole national", text=TEXTS["document:3"],
        type="protocole", region="national", year=2009, status="signé", date=datetime(2009, 10, 26),
    ),
    IndexEntry(
        id="minutes:4", kind="minutes", title="Compte rendu du comité régional", text=TEXTS["minutes:4"],
        type="compte-rendu", region="11", year=2012, status="archivé", date=datetime(2012, 1, 15),
    ),
]


def text_for(ids):
    return {i: TEXTS[i] for i in ids if i in TEXTS}


#: Tests of Whoosh's own internals (matchers, columns, searcher cache) run on Whoosh only.
WHOOSH_ONLY = pytest.mark.parametrize("backend", ["whoosh"], indirect=True)


@pytest.fixture(params=BACKENDS)
def backend(request, monkeypatch) -> str:
    """The engine of every index the test opens or rebuilds (``SEARCH_BACKEND``)."""
    monkeypatch.setenv("SEARCH_BACKEND", request.param)
    return request.param


@pytest.fixture
def opened(backend):
    """Opens indexes and closes their cached searchers at the end of the test."""
    handles: list[SearchIndex] = []

    def _open(path: Path, **kwargs) -> SearchIndex:
        ix = open_index(path, **kwargs)
        handles.append(ix)
        return ix

    yield _open
    for ix in handles:
        ix.close()


@pytest.fixture
def index(tmp_path: Path, opened) -> SearchIndex:
    ix = opened(tmp_path / "index")
    with writing(ix) as w:
        for e in ENTRIES:
            w.upsert(e)
    return ix


def ids(results) -> set[str]:
    return {h.id for h in results.hits}


# ---------------------------------------------------------------- analysis


def tokens(text: str) -> list[str]:
    return [t.text for t in french_analyzer()(text)]


@pytest.mark.parametrize("engine", ["whoosh", "tantivy"])
def test_analysis_chain_folds_before_stemming_and_drops_elisions_and_stopwords(engine):
    analyse = tokens if engine == "whoosh" else french_stems  # the same chain on both engines
    assert analyse("L’hôpital") == analyse("l'hopital") == analyse("hôpital") == ["hopital"]
    assert analyse("jusqu'à lorsqu'il puisqu’elle qu'un") == []
    assert analyse("coordinations régionales") == analyse("coordination regionale")
    assert analyse("d'être n’était") == ["etre"]  # "était" is a stop word once folded
    assert analyse("œuvre") == analyse("oeuvre")
    assert fold(" Signé ") == "signe"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("coordinations regionales", {"document:1", "document:2"}),
        ("hopital", {"document:1"}),
        ("Kyrnea", {"document:1", "document:3"}),
        ("proces verbaux", {"document:1", "minutes:4"}),
        ("l'hopital", {"document:1"}),
        ("azur", {"document:2"}),
        ("COMITÉ DE PILOTAGE", {"document:2", "minutes:4"}),
    ],
)
def test_french_queries_find_accented_inflected_text(index, query, expected):
    assert ids(search(index, query, scope=ALL)) == expected


# ---------------------------------------------------------------- query language


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("coordination signataires", {"document:3"}),  # AND by default
        ("coordination ET signataires", {"document:3"}),
        ("marseille OR créteil", {"document:1", "document:2"}),
        ("marseille OU créteil", {"document:1", "document:2"}),
        ("coordination NOT kyrnea", {"document:2"}),
        ("coordination -kyrnea", {"document:2"}),
        ("coordination SAUF kyrnea", {"document:2"}),
        ('"comité de pilotage régional"', {"document:2", "minutes:4"}),
        ('"pilotage comité"', set()),  # phrase order matters
        ("« tacite reconduction »", {"document:3"}),
        ("type:convention", {"document:1"}),
        ("region:11", {"document:1", "minutes:4"}),
        ("région:national", {"document:3"}),
        ("annee:2010", {"document:1"}),
        ("année:2011", {"document:2"}),
        ("statut:signé", {"document:1", "document:3"}),
        ("statut:signe", {"document:1", "document:3"}),
        ("statut:ARCHIVE", {"minutes:4"}),
        ("nature:minutes", {"minutes:4"}),
        ("version:2", {"document:1"}),
        ('partie:"drac ile-de-france"', {"document:1"}),
        ("quartier:saint-barthelemy", {"document:2"}),
        ("motcle:hopital", {"document:1"}),
        ("titre:bilan", {"document:2"}),
        ("(marseille OR créteil) statut:signe", {"document:1"}),
        ("type:(convention OR bilan)", {"document:1", "document:2"}),
        ("-type:convention region:11", {"minutes:4"}),
        ("NOT (region:11 OR region:93)", {"document:3"}),
        ("coord*", {"document:1", "document:2", "document:3"}),
        ("hospit*", {"minutes:4"}),
        ("projection?", {"document:2"}),  # "?" is neutralised, not a wildcard
        ("http://exemple.fr marseille", set()),  # unknown "field" is plain text
    ],
)
def test_query_language(index, query, expected):
    assert ids(search(index, query, scope=ALL)) == expected


def test_empty_query_lists_everything_in_scope(index):
    assert search(index, "   ", scope=ALL).total == 4
    assert ids(search(index, "", scope=REGION_11)) == {"document:1", "document:3", "minutes:4"}


def test_only_stop_words_gives_no_result_and_a_notice(index):
    r = search(index, "le de la", scope=ALL)
    assert r.total == 0 and r.notices


# ---------------------------------------------------------------- bounds (no query holds a worker past 1 s, no 500)


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ("(" * 2000, "trop longue"),
        ("x" * (MAX_QUERY_LENGTH + 1), "trop longue"),
        ("(" * 200 + "a" + ")" * 200, "parenthèses"),
        ("((coordination)", "n'est pas fermée"),
        ("coordination))", "fermante"),
        ('"comité de pilotage', "guillemet"),
        ('coordination "', "guillemet"),
        ("a*", "3 lettres"),
        ("co*", "3 lettres"),
        ("*tion", "étoile"),
        ("co*rd", "étoile"),
        ("coor**", "étoile"),
        ("*", "3 lettres"),
        ("type:conv*", "étoile"),
        ("OR coordination", "OU"),
        ("coordination AND", "ET"),
        ("coordination NOT", "SAUF"),
        ("()", "vides"),
        ("type:", "valeur"),
        ('type:""', "valeur"),
        ("région:", "valeur"),
        ("type: convention", "valeur"),
        ("a* b* c* d* e*", "3 lettres"),
        ("coord* regio* conv* prot* bila*", "troncatures"),
        (" ".join(["mot"] * 60), "trop de mots"),
    ],
)
def test_hostile_or_malformed_queries_give_a_clear_french_error(index, query, fragment):
    with pytest.raises(SearchQueryError) as info:
        search(index, query, scope=ALL)
    assert isinstance(info.value, DomainError)
    assert info.value.status == 400
    assert fragment in info.value.message


@pytest.mark.parametrize(
    ("query", "expected_total"),
    [
        ("annee:[2000 TO 2020]", 0),  # no range syntax: an ordinary (impossible) value
        ("{a TO z}", 0),
        ("date:>2010", 0),  # not a field: plain words "date 2010"
        ("coordination~2", 3),  # fuzzy suffix dropped
        ("coordination^5", 3),  # boost suffix dropped
        ("NOT NOT NOT NOT coordination", 3),
        ("- - - coordination", 3),
        ("\x00coordination", 3),
        ("::::", 0),
        ("'''", 0),
        ('""', 0),
        ("»", 0),
        ("région:11:12", 0),
    ],
)
def test_expensive_syntax_is_neutralised_and_fast(index, query, expected_total):
    start = time.perf_counter()
    assert search(index, query, scope=ALL).total == expected_total
    assert time.perf_counter() - start < 1.0


def test_prefix_expansion_is_capped(tmp_path, opened):
    ix = opened(tmp_path / "ix")
    # 2 * cap distinct words sharing a prefix; one early word and one late word.
    words = [f"zorglub{i:04d}x" for i in range(2 * MAX_PREFIX_EXPANSION)]
    with writing(ix) as w:
        w.upsert(IndexEntry(id="document:bulk", kind="document", title="liste", text=" ".join(words[1:-1])))
        w.upsert(IndexEntry(id="document:early", kind="document", title="a", text=words[0]))
        w.upsert(IndexEntry(id="document:late", kind="document", title="b", text=words[-1]))
    r = search(ix, "zorglub*", scope=ALL)
    # Expansion stops after the cap (alphabetical order): the late word is not reached.
    assert ids(r) == {"document:early", "document:bulk"}
    assert search(ix, words[-1], scope=ALL).total == 1  # the word itself is indexed


@pytest.mark.parametrize("query", ["coordination", '"comité de pilotage"'])
def test_time_bound_raises_a_clear_error(tmp_path, opened, query):
    ix = opened(tmp_path / "ix")
    with writing(ix) as w:
        for i in range(300):
            w.upsert(IndexEntry(id=f"document:{i}", kind="document", title=f"convention {i}",
                                text="coordination du comité de pilotage"))
    with pytest.raises(SearchTimeout) as info:
        search(ix, query, scope=ALL, time_limit=1e-9)
    assert "trop de temps" in info.value.message
    assert search(ix, query, scope=ALL).total == 300


@WHOOSH_ONLY
def test_a_long_phrase_scan_stops_at_the_time_bound(tmp_path, opened):
    from whoosh import query as wq
    from whoosh.collectors import TimeLimit

    from documents.search.whoosh_query import _Phrase

    ix = opened(tmp_path / "ix")
    with writing(ix) as w:
        for i in range(600):
            w.upsert(IndexEntry(id=f"document:{i}", kind="document", title="t", text="comité de pilotage"))
    analyzer = french_analyzer()
    phrase = _Phrase("text", [t.text for t in analyzer("comité pilotage")])
    asked: list[int] = []

    def expired() -> bool:
        asked.append(1)
        return len(asked) >= 2  # the second check, after 512 documents

    phrase.expired = expired
    with ix.searchers.searcher() as s, pytest.raises(TimeLimit):
        s.search(phrase.normalize(), limit=None)  # normalize keeps the bound
    assert len(asked) == 2
    phrase.expired = None
    with ix.searchers.searcher() as s:
        assert len(s.search(wq.Or([phrase]), limit=None)) == 600


# ---------------------------------------------------------------- scope (results, counts, facets, snippets: own regions)


@pytest.mark.parametrize(
    "query",
    [
        "region:93 OR coordination",
        "region:93 OR coord*",
        "region:XX OR coord*",
        "NOT region:11",
        "region:93",
        "marseille",
        "bilan OR marseille OR provence OR coordination",
        "",
        "type:bilan OR region:11",
    ],
)
def test_regional_user_never_sees_other_regions(index, query):
    r = search(index, query, scope=REGION_11, text_for=text_for)
    assert {h.region for h in r.hits} <= {"11", "national"}
    assert r.total == len(r.hits)  # every counted hit is on this page
    for name, values in r.facets.items():
        if name == "region":
            assert {v.value for v in values} <= {"11", "national"}
        assert sum(v.count for v in values) <= r.total
    assert "93" not in {v.value for v in r.facets.get("region", ())}
    assert not any("Marseille" in h.snippet_html or "PACA" in h.title_html for h in r.hits)


def test_scope_counts_and_facets_come_only_from_allowed_documents(index):
    r_all = search(index, "coordination", scope=ALL)
    r_11 = search(index, "coordination", scope=REGION_11)
    assert r_all.total == 3 and r_11.total == 2
    assert {v.value: v.count for v in r_all.facets["region"]} == {"11": 1, "93": 1, "national": 1}
    assert {v.value: v.count for v in r_11.facets["region"]} == {"11": 1, "national": 1}
    assert {v.value for v in r_11.facets["type"]} == {"convention", "protocole"}
    assert search(index, "NOT region:11", scope=REGION_11).total == 1  # the national one only
    assert search(index, "coordination", scope=SearchScope.only(set())).total == 0


def test_suggestions_only_propose_words_from_allowed_documents(index):
    # "marseille" only occurs in region 93.
    assert search(index, "marsielle", scope=ALL).suggestion == "marseille"
    assert search(index, "marsielle", scope=REGION_11).suggestion is None
    # A typo of an allowed word is corrected for the regional user, keeping the rest.
    r = search(index, "coordinaton type:convention", scope=REGION_11)
    assert r.total == 0 and r.suggestion == "coordination type:convention"
    # No suggestion that would find nothing allowed with the filters given.
    assert search(index, "coordinaton", scope=REGION_11, filters={"type": "bilan"}).suggestion is None


def test_scope_from_visible_regions():
    assert SearchScope.from_visible(None) == ALL
    assert SearchScope.from_visible(frozenset({"11", "national"})) == REGION_11


# ---------------------------------------------------------------- results


def test_snippets_and_titles_are_escaped_with_marks(tmp_path, opened):
    ix = opened(tmp_path / "ix")
    evil = 'Atelier <script>alert(1)</script> "onmouseover=alert(2) & cinéma'
    with writing(ix) as w:
        w.upsert(IndexEntry(id="document:9", kind="document", title=evil, text=evil))
    r = search(ix, "cinema script", scope=ALL, text_for=lambda ids: {i: evil for i in ids})
    hit = r.hits[0]
    for html_text in (hit.title_html, hit.snippet_html):
        assert "<script>" not in html_text and '"onmouseover' not in html_text
        assert "&lt;<mark>script</mark>&gt;" in html_text
        assert "<mark>cinéma</mark>" in html_text
        assert "&amp;" in html_text
        assert html_text.replace("<mark>", "").replace("</mark>", "").count("<") == 0


def test_snippet_comes_from_callback_text_and_is_capped(index):
    long_text = ("remplissage " * 30_000) + "hôpital"  # the word sits after the 200k cap
    r = search(index, "hopital", scope=ALL, text_for=lambda ids: {i: long_text for i in ids})
    assert r.total == 1
    assert "<mark>" not in r.hits[0].snippet_html  # beyond the cap: plain start of the text
    assert r.hits[0].snippet_html.startswith("remplissage")
    r = search(index, "hopital", scope=ALL, text_for=text_for)
    assert "<mark>hôpital</mark>" in r.hits[0].snippet_html
    r = search(index, "hopital", scope=ALL)  # no callback: no snippet, no error
    assert r.hits[0].snippet_html == ""


def test_text_is_not_stored_in_the_index():
    schema = build_schema()
    assert schema["text"].stored is False
    assert schema["title"].stored is True


def test_hit_fields_and_title_boost(index):
    r = search(index, "protocole", scope=ALL)
    hit = r.hits[0]
    assert (hit.id, hit.kind, hit.type, hit.region, hit.year, hit.status) == (
        "document:3", "document", "protocole", "national", 2009, "signé",
    )
    assert hit.date == datetime(2009, 10, 26)
    assert hit.title_html == "<mark>Protocole</mark> national"
    # "régional" is in the title of minutes:4 but only in the text of document:2.
    order = [h.id for h in search(index, "comite regional", scope=ALL).hits]
    assert order.index("minutes:4") < order.index("document:2")


def test_facets_pagination_filters_and_date_sort(tmp_path, opened):
    ix = opened(tmp_path / "ix")
    with writing(ix) as w:
        for i in range(30):
            w.upsert(IndexEntry(
                id=entry_id("document", i), kind="document", title=f"Convention {i}", text="cinéma",
                type="convention" if i % 3 else "avenant", region="11" if i < 20 else "93",
                year=2000 + i % 5, status="signé", date=datetime(2000 + i, 1, 1),
            ))
    r = search(ix, "cinema", scope=ALL, per_page=7, page=2, sort="date")
    assert r.total == 30 and r.pages == 5 and len(r.hits) == 7
    assert [h.id for h in r.hits] == [f"document:{i}" for i in range(22, 15, -1)]
    assert {v.value: v.count for v in r.facets["type"]} == {"convention": 20, "avenant": 10}
    assert {v.value: v.count for v in r.facets["region"]} == {"11": 20, "93": 10}
    assert sum(v.count for v in r.facets["year"]) == 30
    r = search(ix, "cinema", scope=ALL, filters={"type": "avenant", "région": ["93", "11"]})
    assert r.total == 10 and {v.value for v in r.facets["type"]} == {"avenant"}
    r = search(ix, "cinema", scope=SearchScope.only({"93"}), filters={"type": "avenant"})
    assert r.total == 3
    assert search(ix, "cinema", scope=ALL, page=9).hits == ()
    with pytest.raises(SearchQueryError):
        search(ix, "cinema", scope=ALL, filters={"mot_inconnu": "x"})
    with pytest.raises(SearchQueryError):
        search(ix, "cinema", scope=ALL, page=500, per_page=100)


# ---------------------------------------------------------------- lifecycle


def test_upsert_replaces_and_delete_removes(index):
    with writing(index) as w:
        w.upsert(IndexEntry(id="document:3", kind="document", title="Protocole renouvelé", text="nouveau"))
        w.delete("document:2")
        w.delete("document:absent")
    assert search(index, "protocole", scope=ALL).hits[0].title == "Protocole renouvelé"
    assert search(index, "tacite", scope=ALL).total == 0
    assert search(index, "marseille", scope=ALL).total == 0
    assert index.doc_count() == 3


def test_writer_cancels_on_error_and_releases_the_lock(index):
    with pytest.raises(RuntimeError):
        with writing(index) as w:
            w.upsert(IndexEntry(id="document:99", kind="document", title="Fantôme", text="fantôme"))
            raise RuntimeError("boom")
    assert search(index, "fantome", scope=ALL).total == 0
    with writing(index, timeout=0.5) as w:  # lock was released
        w.upsert(IndexEntry(id="document:98", kind="document", title="Réel", text="réel"))
    assert search(index, "reel", scope=ALL).total == 1


def test_second_writer_gets_index_busy_after_timeout(index):
    held = threading.Event()
    release = threading.Event()

    def hold():
        with writing(index) as w:
            w.delete("document:1")
            held.set()
            release.wait(5)

    t = threading.Thread(target=hold)
    t.start()
    try:
        assert held.wait(5)
        start = time.perf_counter()
        with pytest.raises(IndexBusy) as info:
            with writing(index, timeout=0.3):
                pass
        assert 0.25 <= time.perf_counter() - start < 2
        assert info.value.status == 503 and "occupé" in info.value.message
    finally:
        release.set()
        t.join()
    assert search(index, "creteil", scope=ALL).total == 0  # the first writer committed


def test_invalid_entry_is_refused(index):
    with pytest.raises(ValueError):
        with writing(index) as w:
            w.upsert(IndexEntry(id="x:1", kind="autre", title="t"))


@WHOOSH_ONLY
def test_searcher_cache_reuses_and_refreshes(index):
    cache = index.searchers
    search(index, "coordination", scope=ALL)
    search(index, "coordination", scope=ALL)
    assert cache.opened == 1 and cache.refreshed == 0
    with writing(index) as w:
        w.upsert(IndexEntry(id="document:50", kind="document", title="Nouvelle coordination", text=""))
    assert search(index, "coordination", scope=ALL).total == 4  # sees the new commit
    assert cache.opened == 1 and cache.refreshed == 1


@WHOOSH_ONLY
def test_searcher_cache_is_per_thread(index):
    totals: list[int] = []

    def run():
        for _ in range(20):
            totals.append(search(index, "coordination", scope=ALL).total)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert totals == [3] * 80
    assert index.searchers.opened == 4


def test_open_index_creates_and_flags_reindex(tmp_path, opened):
    root = tmp_path / "new"
    ix = opened(root)
    assert ix.needs_reindex and search(ix, "", scope=ALL).total == 0
    ix2 = opened(root)
    assert not ix2.needs_reindex
    with pytest.raises(SearchIndexError):
        open_index(tmp_path / "missing", create=False)


def _current_dir(root: Path) -> Path:
    return root / (root / "CURRENT").read_text().strip()


@pytest.mark.parametrize(
    "damage",
    ["toc_garbage", "segment_missing", "pointer_missing_dir", "pointer_traversal", "schema_version"],
)
def test_corrupted_index_is_recreated_empty_not_a_crash(index, opened, damage):
    root = index.root
    gen = _current_dir(root)
    if damage == "toc_garbage":
        for toc in [*gen.glob("*.toc"), *gen.glob("meta.json")]:  # Whoosh, tantivy
            toc.write_bytes(b"\x00garbage" * 10)
    elif damage == "segment_missing":
        for seg in [*gen.glob("*.seg"), *gen.glob("*.trm"), *gen.glob("*.pst"), *gen.glob("*.idx"),
                    *gen.glob("*.store"), *gen.glob("*.term")]:
            seg.unlink()
    elif damage == "pointer_missing_dir":
        (root / "CURRENT").write_text("gen-20000101000000-deadbeef")
    elif damage == "pointer_traversal":
        (root / "CURRENT").write_text("../../etc")
    elif damage == "schema_version":
        (gen / "SCHEMA_VERSION").write_text("0")
    with pytest.raises(SearchIndexError):
        open_index(root, create=False)
    ix = opened(root)
    assert ix.needs_reindex
    assert search(ix, "", scope=ALL).total == 0
    assert _current_dir(root) != gen and _current_dir(root).is_dir()
    assert not open_index(root).needs_reindex


def test_rebuild_swaps_atomically_with_progress(index):
    seen: list[int] = []
    before = _current_dir(index.root)
    search(index, "coordination", scope=ALL)  # a cached searcher on the old generation
    entries = [
        IndexEntry(id=entry_id("document", i), kind="document", title=f"Avenant {i}", text="avenant financier")
        for i in range(250)
    ]
    count = rebuild(index.root, iter(entries), progress=seen.append)
    assert count == 250 and seen == [100, 200, 250]
    assert _current_dir(index.root) != before and not before.exists()
    # The same handle follows the new generation: old content gone, new content there.
    assert search(index, "coordination", scope=ALL).total == 0
    assert search(index, "avenant", scope=ALL).total == 250
    with writing(index) as w:
        w.upsert(IndexEntry(id="document:new", kind="document", title="Avenant neuf", text=""))
    assert search(index, "avenant", scope=ALL).total == 251
    if index.engine == "whoosh":
        assert index.searchers.opened == 2


def test_failed_rebuild_keeps_the_old_index(index):
    def broken():
        yield IndexEntry(id="document:1", kind="document", title="x")
        raise RuntimeError("database went away")

    gen = _current_dir(index.root)
    with pytest.raises(RuntimeError):
        rebuild(index.root, broken())
    assert _current_dir(index.root) == gen
    assert [p.name for p in index.root.iterdir() if p.name.startswith("gen-")] == [gen.name]
    assert search(index, "coordination", scope=ALL).total == 3


def test_rebuild_with_several_processes(tmp_path, opened):
    root = tmp_path / "mp"
    entries = [
        IndexEntry(id=entry_id("minutes", i), kind="minutes", title=f"Compte rendu {i}",
                   text="comité de pilotage régional", region="11" if i % 2 else "93")
        for i in range(120)
    ]
    assert rebuild(root, entries, procs=2) == 120
    ix = opened(root)
    assert not ix.needs_reindex
    assert search(ix, "comite pilotage", scope=ALL).total == 120
    assert search(ix, "comite pilotage", scope=REGION_11).total == 60
    assert search(ix, '"comité de pilotage régional"', scope=ALL).total == 120
    assert search(ix, '"pilotage comité"', scope=ALL).total == 0


# ---------------------------------------------------------------- speed paths (bench/README.md, Recherche)


PHRASE_TEXTS = [
    "le comité de pilotage se réunit",                # match
    "le comité national de pilotage",                 # a word in between: no
    "le pilotage actif du comité",                    # reversed and apart: no
    "comité comité de pilotage et encore comité",     # match after a repeated word
    "comité. Pilotage",                               # punctuation does not break positions: match
    "rien de tout cela",                              # no
    "ville ville ville",                              # "ville ville" matches
    "politique de la ville, politique de l'image",    # match
]


@WHOOSH_ONLY
def test_phrase_matcher_agrees_with_whoosh_phrase(tmp_path, opened):
    from whoosh import query as wq

    ix = opened(tmp_path / "ix")
    # Two commits and a deletion: several segments, a deleted document holding the phrase.
    with writing(ix) as w:
        for i, text in enumerate(PHRASE_TEXTS[:4]):
            w.upsert(IndexEntry(id=entry_id("document", i), kind="document", title=f"Pièce {i}", text=text))
    with writing(ix) as w:
        for i, text in enumerate(PHRASE_TEXTS[4:], 4):
            w.upsert(IndexEntry(id=entry_id("document", i), kind="document", title=f"Pièce {i}", text=text))
        w.upsert(IndexEntry(id="document:98", kind="document", title="Comité de pilotage", text="titre seul"))
        w.upsert(IndexEntry(id="document:99", kind="document", title="Effacé", text="comité de pilotage"))
    with writing(ix) as w:
        w.delete("document:99")
    analyzer = french_analyzer()
    for phrase, expected in [
        ("comité de pilotage", {"document:0", "document:3", "document:4", "document:98"}),
        ("ville ville", {"document:6"}),
        ("ville ville ville", {"document:6"}),
        ("politique de la ville", {"document:7"}),
        ("pilotage comité", set()),
        ("comité absentissime", set()),
    ]:
        stems = [t.text for t in analyzer(phrase)]
        with ix.searchers.searcher() as s:
            reference = s.search(wq.Or([wq.Phrase(f, stems) for f in ("title", "text")]), limit=None)
            ref = {hit["id"]: round(hit.score, 6) for hit in reference}
        r = search(ix, f'"{phrase}"', scope=ALL, per_page=100)
        ours = {h.id for h in r.hits}
        assert ours == expected, phrase
        assert ours == set(ref), phrase  # the same documents as Whoosh's own Phrase
        assert r.total == len(expected)


def test_a_phrase_ranks_by_how_often_the_phrase_occurs(tmp_path, opened):
    ix = opened(tmp_path / "ix")
    with writing(ix) as w:
        # The words many times but together once; the phrase itself three times.
        w.upsert(IndexEntry(id="document:1", kind="document", title="Compte rendu",
                            text="comité de pilotage. " + "Le comité se réunit ; le pilotage suit. " * 6))
        w.upsert(IndexEntry(id="document:2", kind="document", title="Compte rendu",
                            text="comité de pilotage. " * 3 + "Séance ordinaire sans objet particulier. " * 6))
    r = search(ix, '"comité de pilotage"', scope=ALL)
    assert [h.id for h in r.hits] == ["document:2", "document:1"]


def test_decode_positions_is_whooshs_own() -> None:
    import random

    from whoosh.formats import Positions

    from documents.search.whoosh_query import decode_positions

    fmt, rng = Positions(), random.Random(1)
    cases = [[0], [5], [0, 1, 2], [255, 256, 70_000], list(range(0, 5000, 7))]
    cases += [sorted(rng.sample(range(100_000), rng.randrange(1, 300))) for _ in range(200)]
    for positions in cases:
        raw = fmt.encode(positions)
        assert decode_positions(raw) == fmt.decode_positions(raw) == positions
        assert decode_positions(raw.rstrip(b".")) == positions  # as some codecs store it


@WHOOSH_ONLY
def test_phrases_find_exactly_what_whooshs_phrase_finds(tmp_path, opened):
    """Random texts over a few words (stop words and elisions between them), random phrases of 2
    to 4 words, a deleted document: our matcher finds the same documents as Whoosh's own."""
    import random

    from whoosh import query as wq

    rng = random.Random(20261206)
    vocabulary = ["comité", "pilotage", "ville", "de", "la", "l'image", "régionale", "coordination", "et"]
    ix = opened(tmp_path / "ix")
    for start in (0, 60):  # two segments
        with writing(ix) as w:
            for i in range(start, start + 60):
                text = " ".join(rng.choice(vocabulary) for _ in range(rng.randrange(2, 40)))
                w.upsert(IndexEntry(id=entry_id("document", i), kind="document", title=f"Pièce {i}", text=text))
    with writing(ix) as w:
        w.delete(entry_id("document", 7))
    analyzer = french_analyzer()
    tried = found = 0
    for _ in range(60):
        phrase = " ".join(rng.choice(vocabulary) for _ in range(rng.randrange(2, 5)))
        stems = [t.text for t in analyzer(phrase)]
        if len(stems) < 2:
            continue
        with ix.searchers.searcher() as s:
            reference = {hit["id"] for hit in s.search(wq.Phrase("text", stems), limit=None)}
        r = search(ix, f'text:"{phrase}"', scope=ALL, per_page=200)
        assert {h.id for h in r.hits} == reference, phrase
        assert r.total == len(reference)
        tried += 1
        found += bool(reference)
    assert tried >= 30 and found >= 10  # the comparison saw phrases of every length, found and not


def _facet_corpus(ix: SearchIndex) -> list[IndexEntry]:
    entries = [
        IndexEntry(
            id=entry_id("document", i), kind="minutes" if i % 7 == 0 else "document",
            title=f"Pièce {i}",
            # Varying term counts give varying scores, so that the ranking means something.
            text=("cinéma " * (1 + i % 5) + "jeunes " if i % 2 == 0 else "théâtre ")
            + ("comité de pilotage" if i % 3 == 0 else "pilotage du comité"),
            type=("convention", "avenant", "bilan")[i % 3], region=("11", "93", "national", "24")[i % 4],
            year=2005 + i % 4, status=("signé", "brouillon")[i % 2], date=datetime(2000 + i % 20, 1, 1 + i % 28),
        )
        for i in range(90)
    ]
    # Three commits: several segments; then deletions, whose documents must not be counted.
    for start in (0, 30, 60):
        with writing(ix) as w:
            for e in entries[start:start + 30]:
                w.upsert(e)
    deleted = {entry_id("document", i) for i in (0, 6, 12, 33, 61)}
    with writing(ix) as w:
        for eid in deleted:
            w.delete(eid)
    return [e for e in entries if e.id not in deleted]


def test_total_and_facets_equal_a_count_over_the_entries(tmp_path, opened):
    ix = opened(tmp_path / "ix")
    live = _facet_corpus(ix)
    cases = [
        ("cinema", ALL, None, lambda e: "cinéma" in e.text),
        ("cinema", REGION_11, None, lambda e: "cinéma" in e.text and e.region in ("11", "national")),
        ("cinema jeunes", ALL, {"type": "bilan"}, lambda e: "cinéma" in e.text and e.type == "bilan"),
        ('"comité de pilotage"', ALL, None, lambda e: "comité de pilotage" in e.text),
        ('"comité de pilotage"', REGION_11, None,
         lambda e: "comité de pilotage" in e.text and e.region in ("11", "national")),
        ("theatre OR region:24", ALL, None, lambda e: "théâtre" in e.text or e.region == "24"),
        ("pilotage NOT cinema", SearchScope.only({"93"}), None,
         lambda e: "cinéma" not in e.text and e.region == "93"),
    ]
    for query, scope, filters, wanted in cases:
        expected = [e for e in live if wanted(e)]
        for sort in ("relevance", "date"):
            r = search(ix, query, scope=scope, filters=filters, sort=sort, per_page=5)
            assert r.total == len(expected), (query, sort)
            for name, attr in (("type", "type"), ("region", "region"), ("year", "year"), ("status", "status"),
                               ("kind", "kind")):
                counts: dict[str, int] = {}
                for e in expected:
                    value = str(getattr(e, attr))  # facets show values as filed
                    counts[value] = counts.get(value, 0) + 1
                assert {v.value: v.count for v in r.facets[name]} == counts, (query, sort, name)
            assert {h.id for h in r.hits} <= {e.id for e in expected}
            assert len(r.hits) == min(5, len(expected))


@WHOOSH_ONLY
def test_relevance_pages_follow_the_full_ranking(tmp_path, opened):
    from whoosh import query as wq

    ix = opened(tmp_path / "ix")
    _facet_corpus(ix)
    with ix.searchers.searcher() as s:
        ranked = [hit["id"] for hit in s.search(wq.Or([wq.Term("title", "cinem"), wq.Term("text", "cinem")]),
                                                limit=None)]
    assert len(ranked) == 42
    pages = []
    for page in range(1, 6):
        pages += [h.id for h in search(ix, "cinéma", scope=ALL, page=page, per_page=9).hits]
    # Block skipping on the page may not drop or reorder anything.
    assert pages == ranked


@WHOOSH_ONLY
def test_one_pass_spelling_field_indexes_like_whoosh_text(tmp_path, opened):
    from whoosh.fields import ID, TEXT, Schema
    from whoosh.filedb.filestore import FileStorage

    texts = [*TEXTS.values(), "L'hôpital d’Œuvre : Régions, jusqu'à « cœur » — ÉCOLE l'école 12bis", ""]
    entries = [IndexEntry(id=entry_id("document", i), kind="document", title=t[:40], text=t)
               for i, t in enumerate(texts)]
    rebuild(tmp_path / "ours", entries)
    # Reference: Whoosh's own TEXT fields, which analyse the text twice.
    ref_dir = tmp_path / "ref"
    ref_dir.mkdir()
    ref = FileStorage(str(ref_dir)).create_index(Schema(
        id=ID(stored=True), title=TEXT(analyzer=french_analyzer(), spelling=True),
        text=TEXT(analyzer=french_analyzer(), spelling=True)))
    with ref.writer() as w:
        for e in entries:
            w.add_document(id=e.id, title=e.title, text=e.text)
    ours = opened(tmp_path / "ours")
    with ours.searchers.searcher() as s, ref.searcher() as r:
        for field in ("title", "text", "spell_title", "spell_text"):
            assert list(s.reader().lexicon(field)) == list(r.reader().lexicon(field)), field
        assert {b"hopital", b"oeuvre", b"ecole", b"regions"} <= set(s.reader().lexicon("spell_text"))
        for term in r.reader().lexicon("text"):
            mine, theirs = s.reader().postings("text", term), r.reader().postings("text", term)
            assert list(mine.items_as("positions")) == list(theirs.items_as("positions")), term
    ref.close()


@WHOOSH_ONLY
def test_block_wise_term_reading_equals_whoosh_all_ids(tmp_path, opened):
    """The unscored pass reads posting blocks directly: same documents as Whoosh, deletions included."""
    from whoosh import query as wq

    from documents.search import _term_docs

    ix = opened(tmp_path / "ix")
    # 400 documents in one segment: each term's postings span several blocks (128 per block).
    with writing(ix) as w:
        for i in range(400):
            words = ["cinéma"] + (["jeunes"] if i % 3 else []) + (["pilotage"] if i % 130 == 0 else [])
            w.upsert(IndexEntry(id=entry_id("document", i), kind="document", title=f"Pièce {i}",
                                text=" ".join(words)))
    # Deleted documents at the head of the segment (the filter moves the matcher before we read),
    # around a block boundary and at the end.
    deleted = {0, 1, 2, 127, 128, 129, 399}
    with writing(ix) as w:
        for i in deleted:
            w.delete(entry_id("document", i))
    with ix.searchers.searcher() as s:
        for leaf, _offset in s.leaf_searchers():
            for text in ("cinem", "jeun", "pilotag", "absent"):
                term = wq.Term("text", text)
                assert _term_docs(leaf, term) == set(term.docs(leaf)), text
            assert len(_term_docs(leaf, wq.Term("text", "cinem"))) == 400 - len(deleted)
    r = search(ix, "cinéma jeunes", scope=ALL, per_page=5)
    assert r.total == len([i for i in range(400) if i % 3 and i not in deleted])


@WHOOSH_ONLY
def test_field_lengths_held_in_memory_equal_whoosh_reading_the_files(tmp_path, opened):
    """Scores use each document's field length: the in-memory copy must read exactly as Whoosh's files."""
    from whoosh import query as wq

    ix = opened(tmp_path / "ix")
    _facet_corpus(ix)  # several segments, deletions
    with writing(ix) as w:  # and a segment whose title lengths are all 0 (empty title)
        w.upsert(IndexEntry(id="document:500", kind="document", title="", text="cinéma " * 300))
    _, whoosh_ix = ix.current()
    with ix.searchers.searcher() as ours, whoosh_ix.searcher() as plain:
        in_memory = 0
        for (leaf, _), (plain_leaf, _) in zip(ours.leaf_searchers(), plain.leaf_searchers()):
            reader, plain_reader = leaf.reader(), plain_leaf.reader()
            in_memory += sum(isinstance(r, bytes) for r in reader._perdoc._readers.values())
            for docnum in range(reader.doc_count_all()):
                for field in ("title", "text"):
                    assert reader.doc_field_length(docnum, field, 1) == plain_reader.doc_field_length(docnum, field, 1)
        assert in_memory >= 2  # the fast path was taken
        q = wq.Or([wq.Term("title", "cinem"), wq.Term("text", "cinem")])
        assert [(h["id"], h.score) for h in ours.search(q, limit=None)] == \
            [(h["id"], h.score) for h in plain.search(q, limit=None)]
