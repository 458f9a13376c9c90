"""Reference data: annex 2 parsing, broken-accent repair, shipped CSVs and their loaders."""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from documents.referencedata import (
    ANNEX2_REGION_NAMES,
    ORGANISATION_KINDS,
    Annex2ParseError,
    QuartierRow,
    QuartierType,
    current_regions,
    dump_quartiers_csv,
    load_organisations,
    load_quartiers,
    load_regions,
    parse_annex2,
    regions_of_2009,
    repair_text,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
# The 2009 protocol as extracted from its PDF (broken accents included): a source document kept as data.
SOURCE = REPO_ROOT / "documents" / "data" / "sources" / "protocole-national-2009.txt"
SHIPPED_QUARTIERS = REPO_ROOT / "documents" / "data" / "quartiers.csv"
SCRIPT = REPO_ROOT / "scripts" / "parse_annex2.py"


@pytest.fixture(scope="module")
def source_text() -> str:
    return SOURCE.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def parsed(source_text: str) -> list[QuartierRow]:
    return parse_annex2(source_text)


def _annex(source_text: str) -> str:
    return source_text[source_text.index("ANNEXE 2"):]


def _source_line(source_text: str, start: str) -> str:
    (line,) = [line for line in source_text.splitlines() if line.strip().startswith(start)]
    return line.strip()


# --------------------------------------------------------------------------- annex 2


def test_annex2_has_215_quartiers_212_zus_3_art6(parsed: list[QuartierRow]) -> None:
    types = Counter(row.type for row in parsed)
    assert len(parsed) == 215
    assert types[QuartierType.ZUS] == 212
    assert types[QuartierType.ART6] == 3
    assert {row.code for row in parsed if row.type is QuartierType.ART6} == {
        "0119901",
        "2399001",
        "3199013",
    }


def test_quartier_codes_are_unique_seven_digits(parsed: list[QuartierRow]) -> None:
    codes = [row.code for row in parsed]
    assert len(set(codes)) == len(codes)
    assert all(re.fullmatch(r"\d{7}", code) for code in codes)


# Expected rows read by eye in the source text (annex 2, from line 774 of the .txt).
SPOT_CHECKS = [
    # Seine-Saint-Denis.
    QuartierRow("11", "Ile de France", "Seine St Denis (93)", ("93",), "La Courneuve",
                "1131010", "Les 4000", QuartierType.ZUS),
    # Four communes wrapped over two lines, one cut inside "Fontenay-aux-Roses"; a `*`.
    QuartierRow("11", "Ile de France", "Hauts de Seine (92)", ("92",),
                "Bagneux/Bourg-La-Reine/Fontenay-aux-Roses/Sceaux", "1119010", "Les Blagis*",
                QuartierType.ZUS),
    # Two départements, wrapped over two lines, communes tagged with their département.
    QuartierRow("11", "Ile de France", "Essonne (91) /Hauts de Seine (92)", ("91", "92"),
                "Massy (91) /Antony (92)", "1100320", "Le Grand Ensemble*", QuartierType.ZUS),
    # Art. 6.
    QuartierRow("31", "Nord Pas de Calais", "Nord (59)", ("59",),
                "Bruay-sur-l'Escaut/Escautpont", "3199013", "Cité thiers - Extension*",
                QuartierType.ART6),
    QuartierRow("971", "Guadeloupe", "Guadeloupe (971)", ("971",), "Pointe-à-Pitre",
                "0119901", "RUPAP", QuartierType.ART6),
    # Names over four lines, three communes, several `*`.
    QuartierRow("31", "Nord Pas de Calais", "Nord (59)", ("59",), "Croix/Roubaix/Tourcoing",
                "3104200",
                "Bas Saint Pierre*, Roubaix Nord* : Epeule*, Trichon, Alouette, Fresnoy, "
                "Mackellerie, Alma Gare, Fosse aux Chênes, Entrepont, Hutin, Oran Cartigny, "
                "Cul de Four, Hommelet, Centre Ville, Epidème*", QuartierType.ZUS),
    # The only name printed without a final period.
    QuartierRow("11", "Ile de France", "Seine St Denis (93)", ("93",), "Bobigny", "1126010",
                "Karl Marx, Paul Eluard", QuartierType.ZUS),
    # Double space in the source ("Haute Corse  (2B)"), letter in the département code.
    QuartierRow("94", "Corse", "Haute Corse (2B)", ("2B",), "Bastia", "9402020",
                "Quartiers Sud", QuartierType.ZUS),
    # A `*` detached by a space, kept as printed.
    QuartierRow("21", "Champagne Ardennes", "Aube (10)", ("10",),
                "La Chapelle-Saint-Luc/Les Noës-Près-Troyes/Troyes", "2103010",
                "Chantereigne Montvilliers *", QuartierType.ZUS),
]


@pytest.mark.parametrize("expected", SPOT_CHECKS, ids=lambda row: row.code)
def test_spot_checked_rows_match_the_source(
    parsed: list[QuartierRow], expected: QuartierRow
) -> None:
    (row,) = [row for row in parsed if row.code == expected.code]
    assert row == expected


def test_commune_list_splits_on_slash(parsed: list[QuartierRow]) -> None:
    by_code = {row.code: row for row in parsed}
    assert by_code["1119010"].commune_list == (
        "Bagneux", "Bourg-La-Reine", "Fontenay-aux-Roses", "Sceaux",
    )
    assert by_code["1100320"].commune_list == ("Massy (91)", "Antony (92)")
    assert by_code["9305020"].commune_list == ("Marseille 12e et 13e",)


def test_fields_are_clean_text(parsed: list[QuartierRow]) -> None:
    for row in parsed:
        for value in (row.region_name, row.departement, row.communes, row.names):
            assert value == value.strip() and "  " not in value and "\n" not in value, row
        assert not row.names.endswith("."), row
        assert re.search(r"[®¨¹¯£ïñò¶]", row.names + row.communes + row.departement) is None


def test_every_row_keeps_the_region_name_printed_for_its_code(
    parsed: list[QuartierRow],
) -> None:
    assert {(row.region_code, row.region_name) for row in parsed} == set(
        ANNEX2_REGION_NAMES.items()
    )


# --------------------------------------------------------------------------- shipped CSV


def test_shipped_csv_equals_a_fresh_parse(parsed: list[QuartierRow]) -> None:
    assert SHIPPED_QUARTIERS.read_bytes().decode("utf-8") == dump_quartiers_csv(parsed)
    assert load_quartiers() == parsed


def test_script_check_passes_on_shipped_csv(source_text: str) -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--check", "--source", str(SOURCE)],
        capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "215 quartiers" in result.stdout


def test_script_check_fails_on_a_modified_csv(source_text: str, tmp_path: Path) -> None:
    altered = tmp_path / "quartiers.csv"
    altered.write_text(
        SHIPPED_QUARTIERS.read_text(encoding="utf-8").replace("Les 4000", "Les 3000"),
        encoding="utf-8",
    )
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--check", "--source", str(SOURCE), "--output",
         str(altered)],
        capture_output=True, text=True, check=False,
    )
    assert result.returncode == 1
    assert "diffère" in result.stderr


def test_script_writes_the_same_bytes_twice(source_text: str, tmp_path: Path) -> None:
    outputs = []
    for name in ("a.csv", "b.csv"):
        target = tmp_path / name
        subprocess.run(
            [sys.executable, str(SCRIPT), "--source", str(SOURCE), "--output", str(target)],
            capture_output=True, check=True,
        )
        outputs.append(target.read_bytes())
    assert outputs[0] == outputs[1] == SHIPPED_QUARTIERS.read_bytes()


# --------------------------------------------------------------------------- parse errors


def test_text_without_annex2_is_refused() -> None:
    with pytest.raises(Annex2ParseError, match="ANNEXE 2"):
        parse_annex2("ANNEXE 1 - ANNEXE METHODOLOGIQUE\nrien d'autre\n")


def test_a_missing_quartier_is_caught_by_the_announced_totals(source_text: str) -> None:
    line = _source_line(source_text, "11 Ile de France Seine St Denis (93) La Courneuve")
    with pytest.raises(Annex2ParseError, match="annonce 215 quartiers") as caught:
        parse_annex2(source_text.replace(line, ""))
    assert "214 ont été lus" in caught.value.message


def test_a_garbled_line_is_reported_with_its_text(source_text: str) -> None:
    line = _source_line(source_text, "11 Ile de France Seine St Denis (93) La Courneuve")
    with pytest.raises(Annex2ParseError, match="illisible près de") as caught:
        parse_annex2(source_text.replace(line, line.replace("1131010", "113")))
    assert "La Courneuve" in caught.value.message


def test_a_duplicated_code_is_refused(source_text: str) -> None:
    line = _source_line(source_text, "11 Ile de France Seine St Denis (93) La Courneuve")
    with pytest.raises(Annex2ParseError, match="en double.*1130020"):
        parse_annex2(source_text.replace(line, line.replace("1131010", "1130020")))


def test_an_unknown_region_is_refused(source_text: str) -> None:
    line = _source_line(source_text, "11 Ile de France Seine St Denis (93) La Courneuve")
    with pytest.raises(Annex2ParseError, match="région « 74 Limousin"):
        parse_annex2(source_text.replace(line, line.replace("11 Ile de France", "74 Limousin")))


# --------------------------------------------------------------------------- repair


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        ("- Le Secr®tariat", "- Le Secrétariat d'Etat chargé de la politique de la ville"),
        ("Conscients du r¹le",
         "Conscients du rôle important de l'art cinématographique et de l'intérêt de ces "
         "pratiques, la"),
        ("D®l®gation au D®veloppement",
         "Délégation au Développement et à l'Action Territoriale, la Délégation "
         "Interministérielle à la"),
        ("- Projection en plein air", "- Projection en plein air gratuite au cœur des quartiers "
         "notamment"),
        ("A ï Proposer", "A – Proposer une offre diversifiée et notamment différente de celle "
         "relayée"),
        ("ñ hors temps scolaire", "« hors temps scolaire » :"),
        ("ê lôinitiative", "À l'initiative du Centre national du cinéma et de l'image animée, "
         "et sous sa présidence, il se"),
        ("aupr¯s des services d®concentr®s",
         "auprès des services déconcentrés de l'État, des collectivités territoriales, des "
         "partenaires"),
        ("B - Aider le public à mieux se situer vis-à-vis de lôimage",
         "B - Aider le public à mieux se situer vis-à-vis de l'image (cinéma, télévision, médias,"),
        ("jeux vid®oé)", "jeux vidéo…) dans son environnement personnel."),
        ("Lôassociation Kyrn®a", "L'association Kyrnéa International assure la coordination "
         "et le développement du dispositif"),
        ("¶ des repr®sentants de lôassociation des conseillers",
         "• des représentants de l'association des conseillers cinéma et audiovisuel en Drac,"),
        ("lôacte dô°tre ensemble", "l'acte d'être ensemble, par exemple :"),
        ("\" PASSEURS DôIMAGES ò est aujourdôhui",
         "\" PASSEURS D'IMAGES » est aujourd'hui un dispositif d'éducation à l'image et au "
         "cinéma à"),
    ],
)
def test_repair_fixes_real_broken_lines(source_text: str, start: str, expected: str) -> None:
    assert repair_text(_source_line(source_text, start)) == expected


def test_repair_leaves_correct_french_alone(source_text: str) -> None:
    # Annex 2 was extracted with good accents: "Côte", "Rhône", "l'Aumône", "Nîmes", "n°96".
    annex = _annex(source_text)
    assert "Saint-Ouen-l'Aumône" in annex and "Nîmes" in annex and "n°96" in annex
    assert repair_text(annex) == annex


def test_repair_is_idempotent(source_text: str) -> None:
    once = repair_text(source_text)
    assert once != source_text
    assert repair_text(once) == once


def test_ambiguous_glyphs_are_left_as_they_are(source_text: str) -> None:
    # "paysé" could be "passé"-like: the text does not say it was "pays…", so it stays.
    line = _source_line(source_text, "quartier, la ville, lôagglom")
    assert repair_text(line) == "quartier, la ville, l'agglomération, le canton, le paysé"


# --------------------------------------------------------------------------- regions


def test_regions_are_the_26_of_2009(source_text: str) -> None:
    regions = regions_of_2009()
    codes = [region.code for region in regions]
    assert len(regions) == 26
    assert len(set(codes)) == 26
    assert len({region.slug for region in regions}) == 26
    assert all(re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", region.slug) for region in regions)
    assert sum(len(code) == 2 for code in codes) == 22
    assert {code for code in codes if len(code) == 3} == {"971", "972", "973", "974"}
    # Mayotte (976) only if the protocol names it, which it does not.
    assert ("976" in codes) == ("Mayotte" in source_text)
    by_code = {region.code: region.name_in_2009 for region in regions}
    assert by_code["11"] == "Île-de-France"
    assert by_code["24"] == "Centre"
    assert by_code["93"] == "Provence-Alpes-Côte d'Azur"
    assert by_code["974"] == "La Réunion"


def test_every_quartier_region_exists() -> None:
    codes = {region.code for region in load_regions()}
    assert {row.region_code for row in load_quartiers()} <= codes
    assert set(ANNEX2_REGION_NAMES) <= codes


# --------------------------------------------------------------------------- organisations


def test_every_region_has_one_drac_and_one_coordination_slot() -> None:
    organisations = load_organisations()
    regions = {region.code: region for region in load_regions()}
    overseas = {"01", "02", "03", "04", "06"}
    for kind, prefix in (
        ("drac", "DRAC "),
        ("coordination_regionale", "Coordination régionale Passeurs d'images – "),
    ):
        rows = [org for org in organisations if org.kind == kind]
        assert sorted(org.region_code or "" for org in rows) == sorted(regions)
        for org in rows:
            assert org.region_code is not None
            region = regions[org.region_code]
            # Overseas, today's services are DACs (directions des affaires culturelles).
            expected = "DAC " if kind == "drac" and region.code in overseas else prefix
            assert org.name == expected + region.name
            # The 2009 DRACs of merged regions are historical: dated like their region.
            assert org.valid_until == region.valid_until


def test_regions_history_two_maps() -> None:
    current = current_regions()
    assert len(current) == 18
    assert sum(len(region.code) == 2 and region.code >= "11" for region in current) == 13
    by_code = {region.code: region for region in load_regions()}
    assert by_code["76"].name == "Occitanie" and by_code["91"].successor_code == "76"
    assert by_code["73"].successor_code == "76" and by_code["971"].successor_code == "01"
    assert by_code["06"].name == "Mayotte" and by_code["06"].valid_from == "2011-03-31"
    assert by_code["24"].name == "Centre-Val de Loire" and by_code["24"].current
    # Every 2009 region is either current or leads to a current one.
    assert all(region.current or by_code[region.successor_code or ""].current for region in regions_of_2009())


def test_organisation_slugs_unique_and_kinds_known() -> None:
    organisations = load_organisations()
    assert len({org.slug for org in organisations}) == len(organisations) == 5 + 1 + 2 * (26 + 12)
    assert {org.kind for org in organisations} == ORGANISATION_KINDS
    national = [org for org in organisations if org.kind in {"signataire", "coordination_nationale"}]
    assert all(org.region_code is None for org in national)


def test_national_organisations_are_named_as_in_the_protocol(source_text: str) -> None:
    protocol = " ".join(repair_text(source_text).replace("’", "'").split())
    organisations = load_organisations()
    signatories = [org for org in organisations if org.kind == "signataire"]
    assert [org.short_name for org in signatories] == ["MCC", "SG-CIV", "CNC", "Acsé", "DJEPVA"]
    (national,) = [org for org in organisations if org.kind == "coordination_nationale"]
    assert national.name == "Kyrnéa International"
    for org in [*signatories, national]:
        for part in org.name.split(" – "):
            assert part.casefold() in protocol.casefold(), part
        if org.representative:
            assert org.representative in protocol, org.representative
