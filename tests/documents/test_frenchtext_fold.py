"""The one accent fold and the forms built on it (words, slugs), used by intake, drafting and the reference pages."""

from __future__ import annotations

from documents.frenchtext import fold, fold_words, slugify


def test_fold_keeps_punctuation() -> None:
    assert fold("Île-de-France") == "ile-de-france"
    assert fold("Œuvre d'Été") == "oeuvre d'ete"


def test_fold_words_turns_every_other_run_into_one_space() -> None:
    assert fold_words("  Seine-Saint-Denis (93) ") == "seine saint denis 93"
    assert fold_words("Provence-Alpes-Côte d'Azur") == "provence alpes cote d azur"
    assert fold_words("Cœur  &  Æther") == "coeur aether"
    assert fold_words("—") == ""


def test_slugify() -> None:
    assert slugify("Convention DRAC – coordination régionale") == "convention-drac-coordination-regionale"
    assert slugify("Œuvres à l'été") == "oeuvres-a-l-ete"
    assert slugify("!!!") == ""
