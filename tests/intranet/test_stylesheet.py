"""static/css/app.css: one stylesheet by component, colours from tokens with checked contrast ratios."""

from __future__ import annotations

import re
from pathlib import Path

CSS = Path(__file__).resolve().parents[2] / "static" / "css" / "app.css"

#: (foreground token, background token or white, minimum ratio): text 4.5:1, field borders and focus 3:1.
PAIRS = [
    *[(fg, "white", 4.5) for fg in ("ink", "muted", "accent", "danger", "ok", "warn")],
    ("muted", "bg-soft", 4.5), ("accent", "bg-soft", 4.5), ("ink", "bg-soft", 4.5),
    ("accent", "bg-accent", 4.5), ("danger", "bg-danger", 4.5), ("ok", "bg-ok", 4.5), ("warn", "bg-warn", 4.5),
    ("muted", "bg-neutral", 4.5), ("ink", "mark", 4.5), ("accent-ink", "accent", 4.5), ("accent-ink", "accent-dark", 4.5),
    ("ink", "bg-danger", 4.5),
    ("muted", "bg-ok", 4.5), ("ink", "bg-warn", 4.5),
    ("field-border", "white", 3.0), ("focus", "accent", 3.0), ("focus-inner", "white", 3.0),
]


def tokens() -> dict[str, str]:
    root = re.search(r":root\s*{(.*?)}", CSS.read_text(encoding="utf-8"), re.S)
    assert root, "no :root block of tokens"
    return dict(re.findall(r"--([\w-]+):\s*(#[0-9a-fA-F]{3,6})\b", root.group(1)))


def luminance(colour: str) -> float:
    hexa = colour.lstrip("#")
    if len(hexa) == 3:
        hexa = "".join(c * 2 for c in hexa)
    channels = [int(hexa[i:i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def ratio(a: str, b: str) -> float:
    light, dark = sorted((luminance(a), luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_ratio_formula_on_known_pairs() -> None:
    assert round(ratio("#000", "#fff"), 1) == 21.0
    assert round(ratio("#767676", "#fff"), 2) == 4.54
    assert ratio("#fff", "#fff") == 1.0


def test_every_colour_pair_in_use_has_enough_contrast() -> None:
    found = tokens() | {"white": "#fff"}
    low = [(fg, bg, round(ratio(found[fg], found[bg]), 2)) for fg, bg, minimum in PAIRS
           if ratio(found[fg], found[bg]) < minimum]
    assert not low, low


def test_the_stylesheet_is_organised_by_component_with_a_table_of_contents() -> None:
    text = CSS.read_text(encoding="utf-8")
    sections = re.findall(r"/\* =+ (\d+)\. ([^*]+?) \*/", text)
    names = [name.strip() for _, name in sections]
    assert names == ["Jetons", "Base", "Mise en page", "Boutons", "Formulaires", "Cartes", "Badges", "Tableaux",
                     "Onglets", "Alertes", "Sélecteurs", "Utilitaires", "Écrans"]
    contents = text.split("*/", 1)[0]
    for number, name in sections:
        assert re.search(rf"\b{number}\. {re.escape(name.strip())} \.", contents), name
    # No colour written outside the tokens in the components (1 to 12): they use var(--…).
    components = text.split("/* ==================================================================== 2. Base */")[1] \
        .split("/* ==================================================================== 13. Écrans */")[0]
    assert not re.findall(r"#[0-9a-fA-F]{3,6}\b", components), "colours outside the tokens"
