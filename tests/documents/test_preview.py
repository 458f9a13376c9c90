"""HTML previews of .docx and .odt (sanitised, bounded) and text differences between versions."""

from __future__ import annotations

import io
import time
import zipfile
from html.parser import HTMLParser
from pathlib import Path

import pytest
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml.ns import qn
from docx.oxml.parser import OxmlElement

import samplefiles as sf
from documents import preview
from documents.preview import PreviewUnavailable


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def tags_of(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Tags()
    parser.feed(html)
    return parser.tags


def assert_harmless(html: str) -> None:
    """No script, no event handler, no style, no javascript:/data: link, images only as inline rasters."""
    for tag, attrs in tags_of(html):
        assert tag not in {"script", "style", "iframe", "object", "embed", "form", "input", "svg", "math"}, tag
        assert not any(name.startswith("on") or name == "style" for name in attrs), (tag, attrs)
        href = (attrs.get("href") or "").strip().lower()
        assert not href or href.startswith(("http://", "https://", "mailto:")), href
        if tag == "img":
            assert (attrs.get("src") or "").startswith(("data:image/png;", "data:image/jpeg;", "data:image/gif;")) \
                or "src" not in attrs


def docx_with_links(links: list[tuple[str, str]], paragraphs: list[str]) -> bytes:
    """A real .docx with one hyperlink paragraph per (url, text), then plain paragraphs."""
    import docx

    document = docx.Document()
    document.add_heading("Convention de test", level=1)
    for url, label in links:
        paragraph = document.add_paragraph("Lien : ")
        r_id = document.part.relate_to(url, RT.HYPERLINK, is_external=True)
        link = OxmlElement("w:hyperlink")
        link.set(qn("r:id"), r_id)
        run = OxmlElement("w:r")
        t = OxmlElement("w:t")
        t.text = label
        run.append(t)
        link.append(run)
        paragraph._p.append(link)
    for text in paragraphs:
        document.add_paragraph(text)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


# --------------------------------------------------------------------------- sanitiser


def test_sanitize_keeps_structure_and_drops_active_content() -> None:
    dirty = (
        '<h1 onclick="x()">Titre</h1><p style="color:red">Texte <strong>gras</strong></p>'
        '<script>alert(1)</script><style>p{}</style><iframe src="/"></iframe>'
        '<a href="javascript:alert(2)">js</a><a href="data:text/html,<b>x</b>">data</a>'
        '<a href="https://passeurs.fr/x">web</a><a href="mailto:a@b.fr">mail</a>'
        '<img src="x" onerror="alert(3)"><img src="data:image/svg+xml;base64,PHN2Zz4=">'
        '<img src="data:image/png;base64,iVBORw0KGgo=" alt="logo">'
        '<table><tr><td colspan="2" onmouseover="y()">cellule</td></tr></table>'
    )
    clean = preview.sanitize(dirty)
    assert_harmless(clean)
    assert "<h1>Titre</h1>" in clean and "<strong>gras</strong>" in clean and 'colspan="2"' in clean
    assert 'href="https://passeurs.fr/x"' in clean and 'href="mailto:a@b.fr"' in clean
    assert 'src="data:image/png;base64,iVBORw0KGgo="' in clean
    assert "alert" not in clean and "svg" not in clean
    assert 'rel="noopener noreferrer nofollow"' in clean


def test_demote_headings() -> None:
    assert preview.demote_headings("<h1>a</h1><H2 id=x>b</H2><h5>c</h5><h6>d</h6>") == \
        "<h3>a</h3><h4 id=x>b</h4><h6>c</h6><h6>d</h6>"


# --------------------------------------------------------------------------- docx


def test_docx_preview_is_readable_html(tmp_path: Path) -> None:
    data = sf.make_docx(["Article 1 : objet de la convention.", "Article 2 : montant."],
                        table=[["Ligne", "Montant"], ["Coordination régionale", "12 000 €"]])
    path = sf.write_sample(tmp_path / "c.docx", data)
    html = preview.html_of(path, "docx")
    assert "<p>Article 1 : objet de la convention.</p>" in html
    assert "<td><p>Coordination régionale</p></td><td><p>12 000 €</p></td>" in html
    assert_harmless(html)


def test_docx_preview_sanitises_links_and_markup_like_text(tmp_path: Path) -> None:
    """User text stays harmless: javascript: hyperlink, raw HTML-like text, a safe link kept."""
    data = docx_with_links(
        [("javascript:alert(document.cookie)", "cliquez ici"), ("https://www.cnc.fr/", "site du CNC")],
        ['<script>alert("docx")</script>', '<img src=x onerror=alert(1)> & "guillemets"'],
    )
    path = sf.write_sample(tmp_path / "piege.docx", data)
    html = preview.html_of(path, "docx")
    assert_harmless(html)
    assert "javascript" not in html.lower()
    assert "cliquez ici" in html  # the text stays, the link goes
    assert '<a href="https://www.cnc.fr/" rel="noopener noreferrer nofollow">site du CNC</a>' in html
    assert "&lt;script&gt;alert(\"docx\")&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt; &amp; \"guillemets\"" in html
    # The document's own title is nested under the page's headings.
    assert "<h3>Convention de test</h3>" in html and "<h1>" not in html


def test_docx_with_dtd_is_refused(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("MOT-DE-PASSE-SECRET")
    path = sf.write_sample(tmp_path / "xxe.docx", sf.make_xxe_docx(secret))
    with pytest.raises(PreviewUnavailable, match="DTD"):
        preview.html_of(path, "docx")


def test_damaged_files_give_a_clear_error(tmp_path: Path) -> None:
    for kind, data in (("docx", sf.make_truncated_docx()), ("odt", sf.make_truncated_odt()),
                       ("docx", b"pas un zip")):
        path = sf.write_sample(tmp_path / f"x.{kind}", data)
        with pytest.raises(PreviewUnavailable) as caught:
            preview.html_of(path, kind)
        assert "téléchargez" in caught.value.message
        assert caught.value.status == 422


# --------------------------------------------------------------------------- odt


def test_odt_preview_is_readable_html(tmp_path: Path) -> None:
    path = sf.write_sample(tmp_path / "c.odt", sf.make_odt(["Premier paragraphe.", "Second <b>balisé</b> & co."],
                                                           note="Une note de bas de page."))
    html = preview.html_of(path, "odt")
    assert "<p>Premier paragraphe.<small> [note : <span>Une note de bas de page.</span>]</small></p>" in html
    assert "<p>Second &lt;b&gt;balisé&lt;/b&gt; &amp; co.</p>" in html
    assert_harmless(html)


def _odt_with_body(body: str, styles: str = "") -> bytes:
    ns = ('xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
          'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
          'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
          'xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" '
          'xmlns:fo="urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0" '
          'xmlns:xlink="http://www.w3.org/1999/xlink"')
    content = (f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {ns}>'
               f"<office:automatic-styles>{styles}</office:automatic-styles>"
               f"<office:body><office:text>{body}</office:text></office:body></office:document-content>")
    base = sf.make_odt(["x"])
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(base)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            blob = content.encode() if info.filename == "content.xml" else src.read(info)
            dst.writestr(info, blob)
    return out.getvalue()


def test_odt_structure_links_and_styles(tmp_path: Path) -> None:
    data = _odt_with_body(
        '<text:h text:outline-level="1">Titre ODT</text:h>'
        '<text:p>Un <text:span text:style-name="T1">mot gras</text:span> et '
        '<text:a xlink:href="javascript:alert(1)">un lien piégé</text:a>, '
        '<text:a xlink:href="https://www.passeursdimages.fr/">un vrai lien</text:a>.<text:line-break/>Suite'
        '<text:s text:c="3"/>fin.</text:p>'
        "<text:list><text:list-item><text:p>Point A</text:p></text:list-item>"
        "<text:list-item><text:p>Point B</text:p></text:list-item></text:list>"
        '<table:table><table:table-row><table:table-cell table:number-columns-spanned="2">'
        "<text:p>Fusion</text:p></table:table-cell></table:table-row></table:table>",
        styles='<style:style style:name="T1" style:family="text"><style:text-properties fo:font-weight="bold"/>'
               "</style:style>",
    )
    html = preview.html_of(sf.write_sample(tmp_path / "s.odt", data), "odt")
    assert_harmless(html)
    assert "<h3>Titre ODT</h3>" in html
    assert "<strong>mot gras</strong>" in html
    assert "javascript" not in html and "<a rel=\"noopener noreferrer nofollow\">un lien piégé</a>" in html
    assert '<a href="https://www.passeursdimages.fr/" rel="noopener noreferrer nofollow">un vrai lien</a>' in html
    assert "<br>Suite   fin." in html
    assert "<ul><li><p>Point A</p></li><li><p>Point B</p></li></ul>" in html
    assert '<td colspan="2"><p>Fusion</p></td>' in html


def test_odt_xxe_and_billion_laughs_are_refused(tmp_path: Path) -> None:
    """No XXE: no file content leaks and no entity expansion."""
    secret = tmp_path / "secret.txt"
    secret.write_text("MOT-DE-PASSE-SECRET")
    for name, data in (("xxe.odt", sf.make_xxe_odt(secret)), ("lol.odt", sf.make_billion_laughs_odt())):
        path = sf.write_sample(tmp_path / name, data)
        started = time.perf_counter()
        with pytest.raises(PreviewUnavailable, match="DTD"):
            preview.html_of(path, "odt")
        assert time.perf_counter() - started < 1.0


def test_odt_entities_are_never_resolved_even_without_the_guard(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The lxml parser itself is safe: with the DTD guard switched off, nothing leaks and nothing explodes."""
    secret = tmp_path / "secret.txt"
    secret.write_text("MOT-DE-PASSE-SECRET")
    monkeypatch.setattr(preview, "_guard_package", lambda archive, parts: None)
    html = preview.html_of(sf.write_sample(tmp_path / "xxe.odt", sf.make_xxe_odt(secret)), "odt")
    assert "Avant" in html and "après" in html and "MOT-DE-PASSE-SECRET" not in html
    started = time.perf_counter()
    with pytest.raises(PreviewUnavailable, match="illisible"):
        preview.html_of(sf.write_sample(tmp_path / "lol.odt", sf.make_billion_laughs_odt()), "odt")
    assert time.perf_counter() - started < 1.0


# --------------------------------------------------------------------------- bounded subprocess


def test_render_html_runs_in_a_subprocess_and_sanitises(tmp_path: Path) -> None:
    data = docx_with_links([("javascript:alert(1)", "piège")], ["Texte rendu hors du processus."])
    path = sf.write_sample(tmp_path / "c.docx", data)
    html = preview.render_html(path, "docx")
    assert "<p>Texte rendu hors du processus.</p>" in html
    assert_harmless(html)
    odt = sf.write_sample(tmp_path / "c.odt", sf.make_odt(["ODT hors processus."]))
    assert "<p>ODT hors processus.</p>" in preview.render_html(odt, "odt")


def test_render_html_reports_refusals_and_unknown_kinds(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("MOT-DE-PASSE-SECRET")
    path = sf.write_sample(tmp_path / "xxe.odt", sf.make_xxe_odt(secret))
    with pytest.raises(PreviewUnavailable, match="DTD"):
        preview.render_html(path, "odt")
    pdf = sf.write_sample(tmp_path / "a.pdf", sf.make_pdf(["x"]))
    with pytest.raises(PreviewUnavailable, match="format"):
        preview.render_html(pdf, "pdf")


def test_render_html_is_bounded_in_time(tmp_path: Path) -> None:
    """A conversion that takes too long is stopped; the web worker only gets a clear error."""
    paragraphs = [f"Paragraphe numéro {i} de la convention régionale." for i in range(3000)]
    path = sf.write_sample(tmp_path / "long.docx", sf.make_docx(paragraphs))
    started = time.perf_counter()
    with pytest.raises(PreviewUnavailable, match="interrompu"):
        preview.render_html(path, "docx", timeout=0.05)
    assert time.perf_counter() - started < 2.0


def test_render_html_is_bounded_in_memory(tmp_path: Path) -> None:
    path = sf.write_sample(tmp_path / "c.docx", sf.make_docx(["Petit document."]))
    with pytest.raises(PreviewUnavailable, match="trop lourd ou endommagé"):
        preview.render_html(path, "docx", memory_mb=30)


# --------------------------------------------------------------------------- differences


def test_diff_texts() -> None:
    old = "Article 1\nArticle 2 : 10 000 €\nArticle 3\n"
    new = "Article 1\nArticle 2 : 12 000 €\nArticle 3\nArticle 4\n"
    result = preview.diff_texts(old, new)
    kinds = [(line.kind, line.text) for line in result.lines]
    assert kinds == [("hunk", "@@ -1,3 +1,4 @@"), ("ctx", "Article 1"), ("del", "Article 2 : 10 000 €"),
                     ("add", "Article 2 : 12 000 €"), ("ctx", "Article 3"), ("add", "Article 4")]
    assert (result.added, result.removed, result.identical, result.truncated) == (2, 1, False, False)
    assert preview.diff_texts(old, old).identical


def test_diff_texts_is_bounded() -> None:
    old = "\n".join(f"ligne {i}" for i in range(20))
    new = "\n".join(f"ligne {i}" for i in range(5, 25))
    result = preview.diff_texts(old, new, max_lines=10)
    assert result.truncated
    assert result.removed == 5 and result.added == 5
