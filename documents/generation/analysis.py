"""Template analysis inside the worker: tags, forbidden constructs and French messages naming the faulty tag."""

from __future__ import annotations

import copy
import io
import re
from collections.abc import Iterator
from typing import Any

from jinja2 import exceptions as jinja_exceptions
from jinja2 import meta, nodes

from documents.generation.errors import TemplateError
from documents.generation.limits import DEFAULT_MAX_BYTES
from documents.generation.package import _W_NS, _check_package
from documents.generation.sandbox import (
    _ALLOWED_FUNCTIONS,
    _ALLOWED_METHOD_NAMES,
    _Sandbox,
)

# --------------------------------------------------------------------------- analysis

_TAG_RE = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.DOTALL)
_XML_TAG_RE = re.compile(r"<[^>]*>")
_MARKUP_IN_TAG = re.compile(r"</?w:[A-Za-z]")
_OPENERS = {"{{": "}}", "{%": "%}", "{#": "#}"}
_BLOCKS = {"for", "if", "with", "filter", "macro", "call", "block", "autoescape", "raw"}
_FORBIDDEN_NODES: dict[type, str] = {
    nodes.Include: "include",
    nodes.Import: "import",
    nodes.FromImport: "from … import",
    nodes.Extends: "extends",
    nodes.Macro: "macro",
    nodes.CallBlock: "call",
    nodes.Block: "block",
    nodes.ScopedEvalContextModifier: "autoescape",
    nodes.EvalContextModifier: "autoescape",
    nodes.NSRef: "namespace",
}
_FORBIDDEN_NAMES = {"self", "cycler", "joiner", "lipsum", "namespace", "dict", "caller", "varargs", "kwargs"}


class ParsedModel:
    """What a long-lived worker keeps of one model between renders (keyed by the model's SHA-256).

    docxtpl re-parses every part of the .docx for each render and re-applies its regex
    clean-up to the same XML; both depend only on the model's bytes. The worker parses the
    model once and renders a deep copy of that pristine package (lxml copies the trees in C,
    about a third of the parsing time), and remembers ``patch_xml``'s output per XML source.
    The output is byte for byte what a fresh ``DocxTemplate`` gives (tested).
    """

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pristine: Any = None
        self.patched: dict[str, str] = {}
        self.checked = False


def _make_docx_template(data: bytes, *, property_env: _Sandbox | None = None,
                        parsed: ParsedModel | None = None) -> Any:
    from docxtpl import DocxTemplate

    class _DocxTemplate(DocxTemplate):  # type: ignore[misc]  # docxtpl has no type information
        last_source = ""
        docx: Any
        is_rendered: bool

        def init_docx(self, reload: bool = True) -> None:
            if parsed is None:
                super().init_docx(reload)
                return
            if not self.docx or (self.is_rendered and reload):
                if parsed.pristine is None:
                    from docx import Document

                    parsed.pristine = Document(io.BytesIO(parsed.data))
                self.docx = copy.deepcopy(parsed.pristine)
                self.is_rendered = False

        def patch_xml(self, src_xml: str) -> str:
            if parsed is None:
                return str(super().patch_xml(src_xml))
            patched = parsed.patched.get(src_xml)
            if patched is None:
                patched = parsed.patched[src_xml] = str(super().patch_xml(src_xml))
            return patched

        def render_xml_part(self, src_xml: str, part: Any, context: Any, jinja_env: Any = None) -> str:
            self.last_source = src_xml  # kept to name the faulty tag of a render error
            return str(super().render_xml_part(src_xml, part, context, jinja_env))

        def render_properties(self, context: Any, jinja_env: Any = None) -> None:
            # Core properties are plain text set through python-docx, which escapes them:
            # autoescaping here would write "&amp;" into the document title.
            plain = property_env or _Sandbox(
                autoescape=False, max_output=getattr(jinja_env, "max_output", DEFAULT_MAX_BYTES)
            )
            super().render_properties(context, plain)

    return _DocxTemplate(io.BytesIO(data))


def _lines(xml: str) -> str:
    """Split patched XML into one line per paragraph, as docxtpl does before rendering."""
    return re.sub(r"<w:p([ >])", r"\n<w:p\1", xml)


def _display(tag: str) -> str:
    text = _XML_TAG_RE.sub("", tag)
    text = text.replace("&quot;", '"').replace("&apos;", "'").replace("&amp;", "&")
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= 120 else text[:117] + "…"


def _template_parts(tpl: Any) -> Iterator[tuple[str, str]]:
    """(part label, XML) for the body, headers, footers and footnotes, as docxtpl renders them."""
    doc = tpl.get_docx()
    yield "corps du document", tpl.xml_to_string(doc._element.body)
    for label, uri in (("en-tête", tpl.HEADER_URI), ("pied de page", tpl.FOOTER_URI)):
        for _key, part in tpl.get_headers_footers(uri):
            yield label, tpl.get_part_xml(part)
    for part in doc.part.package.parts:
        if part.content_type.endswith("wordprocessingml.footnotes+xml"):
            blob = part.blob
            yield "notes de bas de page", blob.decode("utf-8") if isinstance(blob, bytes) else blob


def _paragraph_texts(xml: str) -> Iterator[str]:
    """Visible text of each paragraph (runs joined), nested paragraphs apart."""
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    root = etree.fromstring(xml.encode("utf-8"), parser)
    p_tag, t_tag = f"{{{_W_NS}}}p", f"{{{_W_NS}}}t"
    for paragraph in root.iter(p_tag):
        texts = []
        for t in paragraph.iter(t_tag):
            owner = next(t.iterancestors(p_tag), None)
            if owner is paragraph and t.text:
                texts.append(t.text)
        yield "".join(texts)


def _split_paragraph_errors(xml: str, where: str) -> list[TemplateError]:
    """Tags opened in one paragraph and closed in another (Enter typed inside a tag)."""
    errors: list[TemplateError] = []
    pending: str | None = None
    for text in _paragraph_texts(xml):
        pos = 0
        if pending is not None:
            closer = _OPENERS[pending[:2]]
            end = text.find(closer)
            tail = text[: end + 2] if end >= 0 else text[:40]
            tag = f"{pending} ↵ {tail}".strip()
            errors.append(
                TemplateError(
                    f"La balise « {_display(tag)} » ({where}) est coupée par un retour à la ligne : "
                    "une balise doit tenir dans un seul paragraphe. Retapez-la sur une seule ligne.",
                    tag=_display(tag),
                )
            )
            pending = None
            pos = end + 2 if end >= 0 else len(text)
        while True:
            match = re.compile(r"\{[{%#]").search(text, pos)
            if not match:
                break
            opener = match.group(0)
            end = text.find(_OPENERS[opener], match.end())
            if end < 0:
                pending = text[match.start():]
                break
            pos = end + 2
    if pending is not None:
        errors.append(
            TemplateError(
                f"La balise « {_display(pending)} » ({where}) n'est jamais refermée : "
                f"ajoutez « {_OPENERS[pending[:2]]} » à la fin de la balise, dans le même paragraphe.",
                tag=_display(pending),
            )
        )
    return errors


def _tags_on_line(source: str, lineno: int) -> list[str]:
    lines = source.split("\n")
    if not 1 <= lineno <= len(lines):
        return []
    return [_display(t) for t in _TAG_RE.findall(lines[lineno - 1])]


def _french_syntax_detail(message: str) -> str:
    table = (
        ("unexpected end of template", "balise ouverte mais jamais fermée"),
        ("Encountered unknown tag", "instruction inconnue"),
        ("expected token 'end of print statement'", "expression mal écrite"),
        ("expected token 'end of statement block'", "instruction mal écrite"),
        ("unexpected '}'", "accolade fermante en trop ou mal placée"),
        ("unexpected char", "caractère inattendu"),
        ("unexpected '%'", "signe % mal placé"),
    )
    for needle, french in table:
        if needle in message:
            return f"{french} (détail : {message})"
    return f"détail : {message}"


def _block_structure_errors(source: str, where: str) -> list[TemplateError]:
    """Unclosed ``{% for %}``/``{% if %}`` and stray ``{% endfor %}``, naming the tag."""
    errors: list[TemplateError] = []
    stack: list[tuple[str, str]] = []
    for raw in re.findall(r"\{%.*?%\}", source, re.DOTALL):
        tag = _display(raw)
        inner = tag[2:-2].strip().lstrip("-+").rstrip("-+").strip()
        word = inner.split(" ", 1)[0] if inner else ""
        if word in _BLOCKS and not (word == "set"):
            stack.append((word, tag))
        elif word == "set" and "=" not in inner:
            stack.append(("set", tag))
        elif word.startswith("end") and word[3:] in _BLOCKS | {"set"}:
            if stack and stack[-1][0] == word[3:]:
                stack.pop()
            else:
                expected = f"{{% end{stack[-1][0]} %}}" if stack else "aucune"
                errors.append(
                    TemplateError(
                        f"La balise « {tag} » ({where}) ferme un bloc qui n'est pas ouvert "
                        f"(fermeture attendue : {expected}).",
                        tag=tag,
                    )
                )
                return errors
    for word, tag in stack:
        errors.append(
            TemplateError(
                f"La balise « {tag} » ({where}) ouvre un bloc qui n'est jamais fermé : "
                f"ajoutez « {{% end{word} %}} » (ou « {{%tr end{word} %}} » dans un tableau, "
                f"« {{%p end{word} %}} » pour un paragraphe).",
                tag=tag,
            )
        )
    return errors


def _node_tag(source: str, node: nodes.Node, needle: str) -> str:
    tags = _tags_on_line(source, getattr(node, "lineno", 0) or 0)
    for tag in tags:
        if needle in tag:
            return tag
    return tags[0] if tags else needle


def _construct_errors(env: _Sandbox, ast: nodes.Template, source: str, where: str) -> list[TemplateError]:
    """Unknown filters and forbidden constructs, found in the parsed template."""
    errors: list[TemplateError] = []

    def refuse(node: nodes.Node, needle: str, message: str) -> None:
        tag = _node_tag(source, node, needle)
        errors.append(TemplateError(f"La balise « {tag} » ({where}) : {message}", tag=tag))

    for node in ast.find_all(nodes.Node):
        for kind, label in _FORBIDDEN_NODES.items():
            if isinstance(node, kind):
                refuse(node, label.split(" ")[0], f"l'instruction « {label} » est interdite dans un modèle.")
        if isinstance(node, nodes.Filter) and node.name not in env.filters:
            refuse(
                node, node.name,
                f"filtre inconnu « {node.name} ». Filtres permis : {', '.join(sorted(env.filters))}.",
            )
        elif isinstance(node, nodes.Test) and node.name not in env.tests:
            refuse(node, node.name, f"test inconnu « {node.name} ».")
        elif isinstance(node, nodes.Getattr) and node.attr.startswith("_"):
            refuse(node, node.attr, f"accès interdit à « {node.attr} ».")
        elif (
            isinstance(node, nodes.Getitem)
            and isinstance(node.arg, nodes.Const)
            and isinstance(node.arg.value, str)
            and node.arg.value.startswith("_")
        ):
            refuse(node, node.arg.value, f"accès interdit à « {node.arg.value} ».")
        elif isinstance(node, nodes.Name) and (node.name in _FORBIDDEN_NAMES or node.name.startswith("_")):
            refuse(node, node.name, f"le nom « {node.name} » est réservé et interdit dans un modèle.")
        elif isinstance(node, nodes.Mod) and isinstance(node.left, nodes.Const) and isinstance(node.left.value, str):
            refuse(node, "%", "le formatage de texte avec « % » est interdit dans un modèle.")
        elif isinstance(node, nodes.Call):
            target = node.node
            if isinstance(target, nodes.Name) and target.name in _ALLOWED_FUNCTIONS:
                continue
            if isinstance(target, nodes.Getattr) and target.attr in _ALLOWED_METHOD_NAMES:
                continue
            name = target.attr if isinstance(target, nodes.Getattr) else getattr(target, "name", "?")
            refuse(node, name, f"l'appel « {name}(…) » est interdit dans un modèle.")
    return errors


def _ordered_names(ast: nodes.Template) -> list[str]:
    undeclared = meta.find_undeclared_variables(ast)
    ordered: list[str] = []
    for node in ast.find_all(nodes.Name):
        if node.ctx == "load" and node.name in undeclared and node.name not in ordered:
            ordered.append(node.name)
    return ordered


def _collect_keys(ast: nodes.Template, names: list[str]) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Row keys of lists (``{% for a in annees %}{{ a.montant }}``) and parts of objects."""
    lists: dict[str, list[str]] = {}
    loop_targets: set[str] = set()
    for loop in ast.find_all(nodes.For):
        if isinstance(loop.iter, nodes.Name) and loop.iter.name in names:
            keys = lists.setdefault(loop.iter.name, [])
            if isinstance(loop.target, nodes.Name):
                item = loop.target.name
                loop_targets.add(item)
                for sub in loop.find_all((nodes.Getattr, nodes.Getitem)):
                    key = _attr_of(sub, item)
                    if key and key not in keys:
                        keys.append(key)
    objects: dict[str, list[str]] = {}
    for sub in ast.find_all((nodes.Getattr, nodes.Getitem)):
        for name in names:
            if name in lists or name in loop_targets:
                continue
            key = _attr_of(sub, name)
            if key:
                keys = objects.setdefault(name, [])
                if key not in keys:
                    keys.append(key)
    return lists, objects


def _attr_of(node: nodes.Node, owner: str) -> str | None:
    if not (isinstance(node.node, nodes.Name) and node.node.name == owner):  # type: ignore[attr-defined]  # Jinja's AST nodes declare their fields at run time
        return None
    if isinstance(node, nodes.Getattr):
        return node.attr
    if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
        return node.arg.value
    return None


def _check_part(tpl: Any, env: _Sandbox, where: str, xml: str) -> tuple[list[TemplateError], nodes.Template | None]:
    """All checks of one part (body, header…): split tags, syntax, forbidden constructs."""
    errors = _split_paragraph_errors(xml, where)
    source = _lines(tpl.patch_xml(xml))
    for raw in _TAG_RE.findall(source):
        if _MARKUP_IN_TAG.search(raw):
            tag = _display(raw)
            errors.append(
                TemplateError(
                    f"La balise « {tag} » ({where}) est coupée par un élément Word (champ, "
                    "commentaire, suivi des modifications, zone de texte…) que le moteur ne sait "
                    "pas recoller : supprimez-la et retapez-la d'un seul tenant.",
                    tag=tag,
                )
            )
    if errors:
        return errors, None
    for raw in re.findall(r"\{\{.*?\}\}", source, re.DOTALL):
        try:
            env.parse(raw)
        except jinja_exceptions.TemplateSyntaxError as exc:
            tag = _display(raw)
            errors.append(
                TemplateError(
                    f"Erreur de syntaxe dans la balise « {tag} » ({where}) : "
                    f"{_french_syntax_detail(exc.message or '')}.",
                    tag=tag,
                )
            )
    if errors:
        return errors, None
    errors = _block_structure_errors(source, where)
    if errors:
        return errors, None
    try:
        ast = env.parse(source)
    except jinja_exceptions.TemplateSyntaxError as exc:
        tags = _tags_on_line(source, exc.lineno or 0)
        faulty = tags[0] if tags else None
        return [
            TemplateError(
                f"Erreur de syntaxe dans la balise « {faulty or '?'} » ({where}) : "
                f"{_french_syntax_detail(exc.message or '')}.",
                tag=faulty,
            )
        ], None
    errors = _construct_errors(env, ast, source, where)
    if not errors:
        try:
            env.compile(source)
        except jinja_exceptions.TemplateError as exc:
            errors.append(TemplateError(f"Le modèle ({where}) ne peut pas être compilé : {exc}."))
    return errors, ast


_RENDERED_PROPERTIES = ("author", "comments", "identifier", "language", "subject", "title")


def _check_properties(tpl: Any, env: _Sandbox) -> list[TemplateError]:
    """docxtpl also renders some core properties (title, subject…): check them the same way."""
    errors: list[TemplateError] = []
    props = tpl.get_docx().core_properties
    for name in _RENDERED_PROPERTIES:
        text = getattr(props, name) or ""
        if "{" not in text:
            continue
        where = f"propriété « {name} » du document"
        try:
            ast = env.parse(text)
        except jinja_exceptions.TemplateSyntaxError as exc:
            errors.append(
                TemplateError(
                    f"Erreur de syntaxe dans la {where} : {_french_syntax_detail(exc.message or '')}.",
                    tag=_display(text),
                )
            )
            continue
        errors.extend(_construct_errors(env, ast, text, where))
    return errors


def _analyse(data: bytes) -> dict[str, Any]:
    """Check a template and find its fields; runs inside the worker (untrusted input)."""
    try:
        _check_package(data)
        tpl = _make_docx_template(data)
        parts = list(_template_parts(tpl))
    except TemplateError as exc:
        return {"errors": [exc.to_dict()], "variables": [], "lists": {}, "objects": {}}
    except Exception as exc:  # noqa: BLE001 - python-docx refusing the package, broken XML…: a French message
        error = TemplateError(
            "Le fichier n'a pas pu être lu comme un document Word : enregistrez-le de nouveau "
            f"au format .docx depuis Word ({type(exc).__name__})."
        )
        return {"errors": [error.to_dict()], "variables": [], "lists": {}, "objects": {}}

    env = _Sandbox()
    errors: list[TemplateError] = _check_properties(tpl, env)
    names: list[str] = []
    lists: dict[str, list[str]] = {}
    objects: dict[str, list[str]] = {}
    for where, xml in parts:
        part_errors, ast = _check_part(tpl, env, where, xml)
        errors.extend(part_errors)
        if ast is None or part_errors:
            continue
        for name in _ordered_names(ast):
            if name not in names and name not in env.globals:
                names.append(name)
        part_lists, part_objects = _collect_keys(ast, names)
        for target, found in ((lists, part_lists), (objects, part_objects)):
            for key, values in found.items():
                merged = target.setdefault(key, [])
                merged.extend(v for v in values if v not in merged)
    unique: dict[str, TemplateError] = {}
    for error in errors:
        unique.setdefault(error.message, error)
    return {
        "errors": [e.to_dict() for e in unique.values()],
        "variables": names,
        "lists": lists,
        "objects": objects,
    }
