"""Totals and facet counts are exact for every scope, whatever the page and the page size.

Issue 10 §2: for a regional scope the total used to be the number of documents
the top-N collector happened to see; once the top N was full, Whoosh replaced
the Or(title, text) matcher by a narrower one and the documents matching in
only one field were no longer counted (92 at 10 per page, 143 at 30).
Here every count is compared with a brute-force count over the live entries,
filtered by the real permission function for each role.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import pytest

from documents.models import Role, User
from documents.permissions import can_read_region, visible_regions
from documents.search import BACKENDS, IndexEntry, SearchScope, entry_id, open_index, search, writing

REGIONS = ("11", "24", "93", "national")
PAGE_SIZES = (1, 4, 10, 30, 100)
FACETS = ("type", "region", "year", "status", "kind")


def _entry(i: int) -> IndexEntry:
    """Entries that match « convention » in the title and text, in the text only, or in the title only."""
    shape = i % 4
    title = f"Convention {i}" if shape in (0, 3) else f"Pièce {i}"
    if shape == 0:
        # Higher scores: the word in both fields, repeated in the text.
        text = "convention " * (1 + i % 3) + "comité de pilotage régional"
    elif shape == 1:
        text = "le comité de pilotage valide la convention de partenariat"
    elif shape == 2:
        text = "pilotage du comité et bilan des ateliers"  # no « convention »: never a match for it
    else:
        text = "bilan des ateliers de pratique"  # « convention » only in the title
    return IndexEntry(
        id=entry_id("minutes" if i % 9 == 0 else "document", i),
        kind="minutes" if i % 9 == 0 else "document",
        title=title, text=text,
        type=("convention", "avenant", "bilan")[i % 3], region=REGIONS[(i // 3) % len(REGIONS)],
        year=2005 + i % 6, status=("signé", "brouillon", "archivé")[i % 3],
        date=datetime(2005 + i % 15, 1 + i % 12, 1 + i % 28),
    )


@pytest.fixture(params=BACKENDS)
def corpus(tmp_path: Path, request):
    """An index of several segments with deleted and replaced entries; yields (index, live entries)."""
    ix = open_index(tmp_path / "ix", backend=request.param)
    entries = {e.id: e for e in (_entry(i) for i in range(240))}
    for start in range(0, 240, 60):  # four commits: four segments
        with writing(ix) as w:
            for e in list(entries.values())[start:start + 60]:
                w.upsert(e)
    with writing(ix) as w:
        for i in (0, 4, 8, 13, 61, 100, 101, 202, 239):
            eid = _entry(i).id
            w.delete(eid)
            del entries[eid]
        # A replaced entry loses the word: the old version must not be counted either.
        replaced = _entry(16)
        entries[replaced.id] = IndexEntry(**{**replaced.__dict__, "title": "Pièce 16", "text": "bilan"})
        w.upsert(entries[replaced.id])
    yield ix, list(entries.values())
    ix.close()


def _user(role: Role, region: str | None) -> User:
    return User(email=f"{role.value}@example.org", role=role.value, region_code=region, active=True)


USERS = {
    "regional": _user(Role.REGIONAL, "11"),
    "national": _user(Role.NATIONAL, None),
    "admin": _user(Role.ADMIN, None),
}

_WORD = re.compile(r"\w+")


def _words(e: IndexEntry) -> set[str]:
    return set(_WORD.findall(f"{e.title} {e.text}".lower()))


# (query, predicate on an entry) — the predicates are the plain meaning of each query.
QUERIES = [
    ("convention", lambda e: "convention" in _words(e)),
    ("conventions", lambda e: "convention" in _words(e)),  # the stem matches the singular
    ('"comité de pilotage"', lambda e: "comité de pilotage" in e.text),
    ('"convention de partenariat"', lambda e: "convention de partenariat" in e.text),
    ("convention pilotage", lambda e: "convention" in _words(e) and "pilotage" in _words(e)),
    ("convention OR ateliers", lambda e: bool({"convention", "ateliers"} & _words(e))),
    ("convention NOT bilan", lambda e: "convention" in _words(e) and "bilan" not in _words(e)),
    ('convention "comité de pilotage"', lambda e: "convention" in _words(e) and "comité de pilotage" in e.text),
]


def _expected_facets(expected: list[IndexEntry]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {name: {} for name in FACETS}
    for e in expected:
        for name in FACETS:
            value = str(getattr(e, name))
            out[name][value] = out[name].get(value, 0) + 1
    return out


@pytest.mark.parametrize("who", sorted(USERS))
@pytest.mark.parametrize("query,wanted", QUERIES, ids=[q for q, _ in QUERIES])
def test_totals_and_facets_are_exact_for_every_page_size(corpus, who, query, wanted):
    ix, live = corpus
    user = USERS[who]
    scope = SearchScope.from_visible(visible_regions(user))
    expected = [e for e in live if can_read_region(user, e.region) and wanted(e)]
    assert expected, "the corpus must give each case something to count"
    facets = _expected_facets(expected)
    for sort in ("relevance", "date"):
        for per_page in PAGE_SIZES:
            for page in (1, 2):
                if page * per_page > 1000:
                    continue
                r = search(ix, query, scope=scope, sort=sort, page=page, per_page=per_page, suggest=False)
                assert r.total == len(expected), (sort, per_page, page)
                got = {name: {v.value: v.count for v in r.facets[name]} for name in FACETS}
                assert got == facets, (sort, per_page, page)
                start = (page - 1) * per_page
                assert len(r.hits) == max(0, min(per_page, len(expected) - start)), (sort, per_page, page)
                assert {h.id for h in r.hits} <= {e.id for e in expected}
        # Paging through shows every match exactly once: nothing counted that cannot be shown.
        seen = [h.id for page in range(1, 4)
                for h in search(ix, query, scope=scope, sort=sort, page=page, per_page=100, suggest=False).hits]
        assert sorted(seen) == sorted(e.id for e in expected), sort


def test_regional_total_does_not_depend_on_paging_when_title_only_and_text_only_matches_mix(corpus):
    """The minimal case of the issue: a full top N must not shrink the count."""
    ix, live = corpus
    scope = SearchScope.only({"11", "national"})
    expected = sum(1 for e in live if e.region in ("11", "national") and "convention" in _words(e))
    totals = {per_page: search(ix, "convention", scope=scope, per_page=per_page, suggest=False).total
              for per_page in (1, 5, 10, 20, 30, 100)}
    assert set(totals.values()) == {expected}, totals
