"""Build the five built-in Word models into documents/data/models/<slug>.docx.

Usage:
    python scripts/build_models.py           # (re)write the .docx files
    python scripts/build_models.py --check   # exit 1 if a committed file differs

The output is deterministic (fixed core-property dates, fixed zip timestamps), so a
re-run gives byte-identical files and ``--check`` can run in CI.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from docx import Document  # noqa: E402
from docx.document import Document as DocxDocument  # noqa: E402
from docx.enum.table import WD_TABLE_ALIGNMENT  # noqa: E402
from docx.enum.text import WD_ALIGN_PARAGRAPH  # noqa: E402
from docx.oxml import OxmlElement  # noqa: E402
from docx.oxml.ns import qn  # noqa: E402
from docx.shared import Cm, Pt, RGBColor  # noqa: E402

from documents.generation import BUILTIN_MODELS, MODELS_DIR  # noqa: E402

#: The signature date, or a line to fill in by hand when the draft leaves it empty (never « le , »).
SIGNATURE_DATE = '{{ date_signature or "____________" }}'

FIXED_TIME = dt.datetime(2026, 1, 1, 0, 0, 0)
ZIP_TIME = (2026, 1, 1, 0, 0, 0)

PROTOCOLE = (
    "le protocole national relatif au dispositif « Passeurs d’images » signé à Paris le "
    "26 octobre 2009 par le ministère de la culture et de la communication, le secrétariat "
    "d’État chargé de la politique de la ville, le Centre national du cinéma et de l’image "
    "animée, l’Agence nationale pour la cohésion sociale et l’égalité des chances et le Haut "
    "Commissaire à la jeunesse"
)

MISSIONS_REGIONALES = [
    (
        "Un interlocuteur régional",
        "La coordination régionale est l’interlocuteur privilégié des structures et des "
        "collectivités souhaitant participer au dispositif « Passeurs d’images ». Elle est "
        "l’organisme ressource qui oriente le public vers les relais locaux concernés ; elle met "
        "en place et développe la manifestation régionale, dont elle assure le suivi et la continuité.",
    ),
    (
        "Une structure incitative",
        "Elle incite au développement des actions tout au long de l’année et peut proposer des "
        "rencontres régionales, des actions de formation et de professionnalisation des acteurs "
        "de terrain, des journées de sensibilisation, des projections des films d’ateliers ou de "
        "films en avant-première, des ateliers de pratique artistique et des séances spéciales. "
        "Elle développe un réseau régional d’action culturelle cinématographique en suscitant des "
        "partenariats avec les acteurs institutionnels, privés et associatifs.",
    ),
    (
        "Les actions",
        "Chaque projet est construit par la structure organisatrice locale en accord avec la "
        "coordination régionale. Celle-ci contacte les partenaires, notamment les salles de "
        "cinéma, recherche des financements complémentaires, étudie les projets reçus et en "
        "propose de nouveaux.",
    ),
    (
        "Communication régionale et valorisation",
        "La coordination régionale assure la communication régionale et participe, en tant que "
        "relais, aux opérations de communication nationales. Elle anime, valorise et développe "
        "le réseau d’acteurs de terrain.",
    ),
    (
        "Une tête de réseau",
        "Elle travaille en étroite collaboration avec la coordination nationale et participe aux "
        "réunions nationales, afin d’assurer la circulation des informations, l’échange de "
        "réflexions, la valorisation des actions et la mise en place éventuelle de projets "
        "interrégionaux ou internationaux.",
    ),
    (
        "Évaluation",
        "Elle rédige chaque année un bilan qualitatif et quantitatif des actions « Passeurs "
        "d’images » de la région, validé par le comité de pilotage régional et communiqué à la "
        "coordination nationale pour permettre l’évaluation nationale du dispositif.",
    ),
]

OBJECTIFS = [
    ("A", "Proposer une offre diversifiée et notamment différente de celle relayée habituellement "
          "par les médias et les industries culturelles, et contribuer ainsi à l’éducation au "
          "cinéma, à l’audiovisuel et aux nouvelles technologies."),
    ("B", "Aider le public à mieux se situer vis-à-vis de l’image (cinéma, télévision, médias, "
          "jeux vidéo…) dans son environnement personnel."),
    ("C", "Contribuer à la formation et à la qualification des partenaires relais sur le terrain."),
    ("D", "Créer et développer du lien social au sein des territoires où se déroulent les actions."),
    ("E", "Promouvoir les projets destinés à faire apparaître la diversité culturelle de la "
          "société afin de lutter contre les discriminations."),
]

LIGNES = [
    ("Mission de coordination régionale", "montant_mission_coordination"),
    ("Projets mis en œuvre par la coordination régionale", "montant_projets_coordination"),
    ("Actions de formation et de recherche pédagogique", "montant_formation"),
    ("Travail de sensibilisation et de développement sur le terrain", "montant_sensibilisation"),
]


# --------------------------------------------------------------------------- writing helpers


class Writer:
    """Small helper over python-docx giving every model the same administrative layout."""

    def __init__(self, title: str, footer: str) -> None:
        self.doc: DocxDocument = Document()
        self.article = 0
        section = self.doc.sections[0]
        section.page_height, section.page_width = Cm(29.7), Cm(21.0)
        section.left_margin = section.right_margin = Cm(2.2)
        section.top_margin = section.bottom_margin = Cm(2.0)
        normal = self.doc.styles["Normal"]
        normal.font.name = "Arial"
        normal.font.size = Pt(10.5)
        normal.paragraph_format.space_after = Pt(6)
        _set_language(normal.element, "fr-FR")
        for name in ("Title", "Heading 1", "Heading 2", "Heading 3"):
            style = self.doc.styles[name]
            style.font.name = "Arial"
            style.font.color.rgb = RGBColor(0, 0, 0)
        self.doc.styles["Title"].font.size = Pt(16)
        self.doc.styles["Heading 2"].font.size = Pt(11.5)
        props = self.doc.core_properties
        props.title = title
        props.author = "Passeurs d’images"
        props.last_modified_by = "Passeurs d’images"
        props.language = "fr-FR"
        props.created = props.modified = props.last_printed = FIXED_TIME
        props.revision = 1
        props.comments = "Modèle intégré de l’intranet Passeurs d’images."
        footer_paragraph = section.footer.paragraphs[0]
        footer_paragraph.text = typo(footer)
        footer_paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
        footer_paragraph.runs[0].font.size = Pt(8)

    def title(self, *lines: str) -> None:
        lines = tuple(typo(line) for line in lines)
        first = self.doc.add_paragraph(lines[0], style="Title")
        first.alignment = WD_ALIGN_PARAGRAPH.CENTER
        for line in lines[1:]:
            para = self.doc.add_paragraph()
            para.alignment = WD_ALIGN_PARAGRAPH.CENTER
            run = para.add_run(line)
            run.bold = True
            run.font.size = Pt(12)
        self.doc.add_paragraph()

    def heading(self, text: str) -> None:
        self.doc.add_paragraph(typo(text), style="Heading 2")

    def new_article(self, title: str) -> None:
        self.article += 1
        label = "Article premier" if self.article == 1 else f"Article {self.article}"
        self.heading(f"{label} – {title}")

    def para(self, text: str = "", *, bold: bool = False, italic: bool = False,
             align: str = "justify", style: str | None = None) -> None:
        para = self.doc.add_paragraph(style=style)
        if text:
            run = para.add_run(typo(text))
            run.bold = bold
            run.italic = italic
        para.alignment = {
            "justify": WD_ALIGN_PARAGRAPH.JUSTIFY,
            "center": WD_ALIGN_PARAGRAPH.CENTER,
            "left": WD_ALIGN_PARAGRAPH.LEFT,
            "right": WD_ALIGN_PARAGRAPH.RIGHT,
        }[align]

    def rich(self, *parts: tuple[str, bool]) -> None:
        """A paragraph made of (text, bold) runs."""
        para = self.doc.add_paragraph()
        para.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
        for text, bold in parts:
            para.add_run(typo(text)).bold = bold

    def bullet(self, text: str) -> None:
        self.doc.add_paragraph(typo(text), style="List Bullet")

    def tag(self, text: str) -> None:
        """A paragraph holding only a docxtpl paragraph tag ({%p … %}), removed at render."""
        self.doc.add_paragraph(text)

    def table(self, header: list[str], rows: list[list[str]], *, widths: list[float],
              bold_last: bool = False) -> None:
        table = self.doc.add_table(rows=0, cols=len(header))
        table.style = "Table Grid"
        table.alignment = WD_TABLE_ALIGNMENT.CENTER
        for index, cells in enumerate([header, *rows]):
            row = table.add_row()
            for col, text in enumerate(cells):
                cell = row.cells[col]
                cell.width = Cm(widths[col])
                para = cell.paragraphs[0]
                run = para.add_run(typo(text))
                run.bold = index == 0 or (bold_last and index == len(rows))
                if col > 0 and header[col].startswith("Montant"):
                    para.alignment = WD_ALIGN_PARAGRAPH.RIGHT
        self.doc.add_paragraph()

    def parties(self, first: str, first_alias: str, second: str, second_alias: str) -> None:
        self.para("Entre les soussignés :", bold=True, align="left")
        self.para(first)
        self.para(f"ci-après dénommé{first_alias},", italic=True)
        self.para("d’une part,", align="right")
        self.para("et", bold=True, align="left")
        self.para(second)
        self.para(f"ci-après dénommée{second_alias},", italic=True)
        self.para("d’autre part,", align="right")

    def signatures(self, left: list[str], right: list[str]) -> None:
        table = self.doc.add_table(rows=1, cols=2)
        table.alignment = WD_TABLE_ALIGNMENT.CENTER
        for cell, lines in zip(table.rows[0].cells, (left, right)):
            cell.width = Cm(8.3)
            cell.paragraphs[0].add_run(lines[0]).bold = True
            for line in lines[1:]:
                cell.add_paragraph(line)
            cell.add_paragraph()
            cell.add_paragraph()

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        self.doc.save(buffer)
        return normalise_zip(buffer.getvalue())


def typo(text: str) -> str:
    """French typography: no-break spaces inside guillemets and before : ; so they never wrap alone."""
    for before, after in (("« ", "«\u00a0"), (" »", "\u00a0»"), (" :", "\u00a0:"), (" ;", "\u00a0;"), (" %", "\u00a0%")):
        text = text.replace(before, after)
    return text


def _set_language(style_element: object, lang: str) -> None:
    rpr = style_element.get_or_add_rPr()  # type: ignore[attr-defined]
    element = OxmlElement("w:lang")
    element.set(qn("w:val"), lang)
    element.set(qn("w:eastAsia"), lang)
    rpr.append(element)


def normalise_zip(data: bytes) -> bytes:
    """Rewrite a .docx with fixed timestamps and order, so the bytes are reproducible."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=ZIP_TIME)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o644 << 16
            target.writestr(fixed, source.read(info.filename))
    return out.getvalue()


# --------------------------------------------------------------------------- the models


def _drac_parties(w: Writer) -> None:
    w.parties(
        "L’État – ministère de la culture et de la communication, {{ drac.nom }}, dont le siège "
        "est situé {{ drac.adresse }}, représenté par {{ drac.representant }}, {{ drac.qualite }},",
        " « la DRAC »",
        "{{ coordination_regionale.nom }}, dont le siège est situé {{ coordination_regionale.adresse }}, "
        "représentée par {{ coordination_regionale.representant }}, {{ coordination_regionale.qualite }},",
        " « la coordination régionale »",
    )


def _means_table(w: Writer) -> None:
    w.table(
        ["Ligne de moyens", "Montant"],
        [[label, "{{ %s }}" % name] for label, name in LIGNES]
        + [["Total", "{{ montant_total }}"]],
        widths=[11.5, 5.0],
        bold_last=True,
    )


def _drac_signatures(w: Writer) -> None:
    w.para(f"Fait à {{{{ lieu_signature }}}}, le {SIGNATURE_DATE}, en deux exemplaires originaux.", align="left")
    w.signatures(
        ["Pour l’État,", "{{ drac.qualite }}", "{{ drac.representant }}"],
        ["Pour la coordination régionale,", "{{ coordination_regionale.qualite }}",
         "{{ coordination_regionale.representant }}"],
    )


def build_convention() -> bytes:
    """Convention annuelle DRAC – coordination régionale."""
    w = Writer(
        "Convention Passeurs d’images",
        "Convention « Passeurs d’images » – DRAC {{ region_nom }} – année {{ annee }}",
    )
    w.title(
        "CONVENTION ANNUELLE",
        "entre la Direction régionale des affaires culturelles {{ region_nom }}",
        "et la coordination régionale du dispositif « Passeurs d’images »",
        "Année {{ annee }}",
    )
    _drac_parties(w)
    w.para(f"Vu {PROTOCOLE}, et notamment son annexe méthodologique ;")
    w.para("Vu les orientations arrêtées par le comité de pilotage régional « Passeurs d’images » "
           "{{ region_nom }} ;")
    w.para("Considérant que la coordination régionale est conventionnée avec la Direction régionale "
           "des affaires culturelles pour animer le dispositif dans la région, en lien avec la "
           "coordination nationale et les porteurs de projet ;")
    w.para("Il est convenu ce qui suit :", bold=True, align="left")

    w.new_article("Objet")
    w.para("La présente convention a pour objet de définir les conditions dans lesquelles la DRAC "
           "apporte son soutien à la coordination régionale du dispositif « Passeurs d’images » "
           "en région {{ region_nom }} pour l’année {{ annee }}, dans le cadre du protocole national "
           "du 26 octobre 2009, qui est joint à la présente convention.")

    w.new_article("Engagements de la coordination régionale")
    w.para("La coordination régionale s’engage à assurer, dans la région {{ region_nom }}, les "
           "missions que lui confie le protocole national :")
    for number, (title, text) in enumerate(MISSIONS_REGIONALES, start=1):
        w.rich((f"{number}. {title}. ", True), (text, False))
    w.para("Elle veille à ce que les projets locaux répondent aux cinq objectifs du dispositif, "
           "comportent au moins deux actions liant la diffusion et la pratique, se déroulent hors "
           "temps scolaire et soient validés par le comité de pilotage régional avant d’utiliser "
           "la dénomination « Passeurs d’images ». Elle propose au comité le cahier des charges "
           "régional.")

    w.new_article("Engagements de la DRAC")
    w.para("La DRAC met en place et préside le comité de pilotage régional, qui se réunit au moins "
           "une fois par an, fixe les orientations régionales du dispositif, valide les projets et "
           "procède à l’évaluation des actions menées. Elle apporte à la coordination régionale le "
           "soutien financier défini à l’article 4.")

    w.new_article("Montant de la subvention")
    w.para("Pour l’année {{ annee }}, la DRAC attribue à la coordination régionale une subvention "
           "de {{ montant_total }}, détaillée selon les moyens mis en œuvre :")
    _means_table(w)
    w.para("Soit un montant total de {{ montant_total_lettres }}.", bold=True)
    w.tag("{%p if imputation_budgetaire %}")
    w.para("Les crédits sont imputés sur le {{ imputation_budgetaire }}.")
    w.tag("{%p endif %}")

    w.new_article("Modalités de versement")
    w.para("La subvention est versée sur le compte bancaire de la coordination régionale, dont le "
           "relevé d’identité bancaire est joint à la présente convention, selon les modalités "
           "suivantes : une avance de {{ taux_avance }} % du montant total à la notification de la "
           "convention, puis le solde après réception et validation du bilan prévu à l’article 7.")

    w.new_article("Durée")
    w.para("La présente convention prend effet le {{ date_effet }} et prend fin le "
           "{{ date_echeance }}. Toute modification fait l’objet d’un avenant signé par les deux parties.")

    w.new_article("Évaluation et bilan")
    w.para("La coordination régionale rédige un bilan qualitatif et quantitatif des actions "
           "« Passeurs d’images » menées dans la région en {{ annee }}, accompagné d’un compte "
           "rendu financier de l’emploi de la subvention. Ce bilan, validé par le comité de pilotage "
           "régional, est transmis à la DRAC et à la coordination nationale au plus tard le "
           "{{ date_remise_bilan }}, afin de permettre l’évaluation nationale du dispositif.")

    w.new_article("Communication")
    w.para("La coordination régionale mentionne le soutien du ministère de la culture et de la "
           "communication et la dénomination « Passeurs d’images » sur tous les documents "
           "d’information et de communication relatifs aux actions soutenues.")

    w.new_article("Résiliation")
    w.para("En cas de non-respect par l’une des parties de ses engagements, la présente convention "
           "peut être résiliée par l’autre partie à l’expiration d’un délai de {{ preavis_mois }} mois "
           "suivant l’envoi d’une lettre recommandée avec accusé de réception restée sans effet. "
           "La DRAC peut alors exiger le reversement de tout ou partie des sommes versées.")

    w.new_article("Litiges")
    w.para("Tout litige relatif à l’exécution de la présente convention relève, à défaut d’accord "
           "amiable, du tribunal administratif territorialement compétent.")
    _drac_signatures(w)
    return w.to_bytes()


def build_avenant() -> bytes:
    """Avenant à une convention DRAC – coordination régionale."""
    w = Writer(
        "Avenant à une convention Passeurs d’images",
        "Avenant n° {{ avenant_numero }} à la convention {{ convention_reference }} – DRAC {{ region_nom }}",
    )
    w.title(
        "AVENANT N° {{ avenant_numero }}",
        "à la convention n° {{ convention_reference }} du {{ convention_date }}",
        "Dispositif « Passeurs d’images » – région {{ region_nom }} – année {{ annee }}",
    )
    _drac_parties(w)
    w.para(f"Vu {PROTOCOLE} ;")
    w.para("Vu la convention n° {{ convention_reference }} conclue le {{ convention_date }} entre la "
           "DRAC {{ region_nom }} et {{ coordination_regionale.nom }}, ci-après « la convention » ;")
    w.para("Considérant {{ motif_avenant }} ;")
    w.para("Il est convenu ce qui suit :", bold=True, align="left")

    w.new_article("Objet")
    w.para("Le présent avenant a pour objet de modifier le montant et la répartition de la "
           "subvention accordée au titre de l’année {{ annee }} ainsi que, le cas échéant, la date "
           "d’échéance de la convention.")

    w.new_article("Montant de la subvention")
    w.para("L’article relatif au montant de la subvention est remplacé par les dispositions "
           "suivantes : « La DRAC attribue à la coordination régionale une subvention de "
           "{{ montant_total }}, détaillée selon les moyens mis en œuvre : »")
    _means_table(w)
    w.para("Soit un montant total de {{ montant_total_lettres }}.", bold=True)

    w.new_article("Durée")
    w.tag("{%p if date_echeance %}")
    w.para("La convention prend fin le {{ date_echeance }}.")
    w.tag("{%p else %}")
    w.para("La durée de la convention demeure inchangée.")
    w.tag("{%p endif %}")

    w.new_article("Autres dispositions")
    w.para("Toutes les autres clauses de la convention demeurent inchangées et applicables.")

    w.new_article("Prise d’effet")
    w.para("Le présent avenant prend effet le {{ date_effet }}.")
    _drac_signatures(w)
    return w.to_bytes()


def build_contrat_objectifs() -> bytes:
    """Contrat d'objectifs entre l'État (ou une Région) et une coordination."""
    w = Writer(
        "Contrat d’objectifs Passeurs d’images",
        "Contrat d’objectifs « Passeurs d’images » {{ annee_debut }}–{{ annee_fin }} – {{ beneficiaire.nom }}",
    )
    w.title(
        "CONTRAT D’OBJECTIFS",
        "Dispositif « Passeurs d’images »",
        "Années {{ annee_debut }} à {{ annee_fin }}",
    )
    w.parties(
        "{{ financeur.nom }}, dont le siège est situé {{ financeur.adresse }}, représenté par "
        "{{ financeur.representant }}, {{ financeur.qualite }},",
        " « le financeur »",
        "{{ beneficiaire.nom }}, dont le siège est situé {{ beneficiaire.adresse }}, représentée par "
        "{{ beneficiaire.representant }}, {{ beneficiaire.qualite }},",
        " « la coordination »",
    )
    w.para(f"Vu {PROTOCOLE}, et notamment son annexe méthodologique, qui prévoit que le montant "
           "de l’aide apportée à la structure chargée de la coordination est fixé dans le cadre "
           "d’un contrat d’objectifs annuel ou pluriannuel ;")
    w.para("Il est convenu ce qui suit :", bold=True, align="left")

    w.new_article("Objet")
    w.para("Le présent contrat fixe les objectifs que la coordination s’engage à poursuivre pour "
           "les années {{ annee_debut }} à {{ annee_fin }} dans le cadre du dispositif « Passeurs "
           "d’images », et les moyens que le financeur lui apporte à cet effet.")

    w.new_article("Objectifs")
    w.para("La coordination inscrit son action dans les cinq objectifs principaux du dispositif "
           "définis par le protocole national. Pour chacun d’eux, elle met en œuvre les actions "
           "suivantes :")
    w.tag("{%p for o in objectifs %}")
    w.rich(("Objectif {{ o.lettre }} – ", True), ("{{ o.intitule }}", False))
    w.para("Actions prévues et indicateurs : {{ o.actions }}", italic=True)
    w.tag("{%p endfor %}")

    w.new_article("Missions")
    w.para("La coordination exerce les missions que lui confie le protocole national : animation "
           "et développement du réseau, appui aux porteurs de projet, aide à la programmation, "
           "actions de formation et de sensibilisation des relais, communication, recherche de "
           "financements complémentaires et collecte annuelle des données permettant une "
           "évaluation qualitative et quantitative du dispositif.")

    w.new_article("Moyens")
    w.para("Sous réserve de l’inscription des crédits correspondants à son budget, le financeur "
           "apporte à la coordination une aide financière répartie comme suit :")
    w.table(
        ["Année", "Montant"],
        [
            ["{%tr for a in annees %}", ""],
            ["{{ a.annee }}", "{{ a.montant }}"],
            ["{%tr endfor %}", ""],
            ["Total", "{{ montant_total_contrat }}"],
        ],
        widths=[8.0, 8.0],
        bold_last=True,
    )
    w.para("Soit un montant total de {{ montant_total_contrat_lettres }} pour la durée du contrat.",
           bold=True)
    w.para("L’aide de chaque année est versée après réception du bilan de l’année précédente.")

    w.new_article("Évaluation")
    w.para("La coordination remet chaque année au financeur un bilan qualitatif et quantitatif "
           "de ses actions au regard des objectifs de l’article 2, accompagné d’un compte rendu "
           "financier. Ce bilan est présenté au comité de pilotage compétent.")

    w.new_article("Durée et résiliation")
    w.para("Le présent contrat prend effet le {{ date_effet }} et prend fin le {{ date_echeance }}. "
           "Il peut être résilié par l’une ou l’autre partie, en cas de manquement aux engagements, "
           "moyennant un préavis de {{ preavis_mois }} mois notifié par lettre recommandée avec "
           "accusé de réception.")
    w.para(f"Fait à {{{{ lieu_signature }}}}, le {SIGNATURE_DATE}, en deux exemplaires originaux.",
           align="left")
    w.signatures(
        ["Pour le financeur,", "{{ financeur.qualite }}", "{{ financeur.representant }}"],
        ["Pour la coordination,", "{{ beneficiaire.qualite }}", "{{ beneficiaire.representant }}"],
    )
    return w.to_bytes()


def build_protocole() -> bytes:
    """Renouvellement du protocole national, signé par chaque signataire."""
    w = Writer(
        "Protocole Passeurs d’images",
        "Protocole national « Passeurs d’images » – {{ lieu_signature }}"
        "{% if date_signature %}, {{ date_signature }}{% endif %}",
    )
    w.title(
        "PROTOCOLE",
        "relatif au dispositif « Passeurs d’images »",
        "Renouvellement du protocole du 26 octobre 2009",
    )
    w.para("Les signataires :", bold=True, align="left")
    w.tag("{%p for s in signataires %}")
    w.bullet("{{ s.nom }}")
    w.tag("{%p endfor %}")
    w.para("décident de renouveler le protocole relatif au dispositif « Passeurs d’images » signé "
           "à Paris le 26 octobre 2009, qui définit le cadre des opérations inscrites dans ce "
           "dispositif, et conviennent de soutenir le programme.")

    w.heading("Préambule")
    w.para("« Passeurs d’images » est un dispositif d’éducation à l’image et au cinéma à vocation "
           "culturelle et sociale, mis en place de façon prioritaire dans le cadre de la politique "
           "de la ville. Il consiste à mettre en place, hors temps scolaire, des projets d’action "
           "culturelle cinématographique et audiovisuelle en direction des publics, prioritairement "
           "les jeunes, éloignés de l’offre cinématographique pour des raisons sociales, "
           "géographiques ou culturelles. Il allie le voir et le faire, la diffusion et la pratique.")

    w.new_article("Objectifs")
    w.para("Les projets « Passeurs d’images » répondent à cinq objectifs principaux :")
    for letter, text in OBJECTIFS:
        w.rich((f"{letter} – ", True), (text, False))

    w.new_article("Organisation du dispositif")
    w.para("Le comité de pilotage national fixe le cadre et les orientations nationales du "
           "dispositif. Réuni au moins une fois par an à l’initiative du Centre national du cinéma "
           "et de l’image animée, qui le préside, il met en œuvre le présent protocole, étudie les "
           "difficultés éventuelles, propose des axes de travail et décide des procédures "
           "d’évaluation. Il réunit des représentants des signataires, des conseillers cinéma et "
           "audiovisuel des DRAC, de la coordination nationale, des coordinateurs régionaux et des "
           "régions.")
    w.para("La coordination nationale est assurée par {{ coordination_nationale.nom }}, "
           "{{ coordination_nationale.adresse }}. Elle anime et développe le réseau, élabore des "
           "outils ressources, organise des rencontres et collecte chaque année les données "
           "permettant l’évaluation du dispositif.")
    w.para("Dans chaque région, un comité de pilotage régional est mis en place à l’initiative du "
           "directeur régional des affaires culturelles, sous la responsabilité du préfet de "
           "région ; il valide les projets. La coordination régionale, conventionnée avec la DRAC, "
           "est l’interlocutrice des coordinations locales et de la coordination nationale.")

    w.new_article("Engagements des signataires")
    w.para("Les signataires peuvent apporter un soutien financier à la structure chargée de la "
           "coordination nationale, dans le cadre d’un contrat d’objectifs annuel ou pluriannuel, "
           "prendre en charge des actions nationales du dispositif, favoriser le développement "
           "des contacts avec d’autres partenaires nationaux et diffuser le présent protocole "
           "auprès de leurs services déconcentrés.")

    w.new_article("Durée")
    w.para("Le présent protocole est conclu pour une durée de {{ duree_annees }} ans à compter du "
           "{{ date_effet }}.")
    w.tag("{%p if tacite_reconduction %}")
    w.para("Il est renouvelable par tacite reconduction, sauf dénonciation par l’un des signataires "
           "notifiée au moins {{ preavis_mois }} mois avant son échéance.")
    w.tag("{%p else %}")
    w.para("Il ne peut être renouvelé que par un nouveau protocole signé par les parties.")
    w.tag("{%p endif %}")

    w.para(f"Fait à {{{{ lieu_signature }}}}, le {SIGNATURE_DATE}.", align="left")
    w.table(
        ["Signataire", "Signature"],
        [
            ["{%tr for s in signataires %}", ""],
            ["Pour {{ s.nom }},\n{{ s.qualite }},\n{{ s.representant }}", ""],
            ["{%tr endfor %}", ""],
        ],
        widths=[10.0, 6.5],
    )
    return w.to_bytes()


def build_compte_rendu() -> bytes:
    """Compte rendu d'une réunion de comité de pilotage."""
    w = Writer(
        "Compte rendu de comité de pilotage",
        "{{ comite }} – réunion du {{ date_reunion }}",
    )
    w.title("COMPTE RENDU", "{{ comite }}", "Réunion du {{ date_reunion }}")
    w.rich(("Lieu : ", True), ("{{ lieu_reunion }}", False))
    w.rich(("Présidence de la séance : ", True), ("{{ president_seance }}", False))

    w.heading("Participants")
    w.para("Présents :", bold=True, align="left")
    w.table(
        ["Nom", "Qualité", "Organisme"],
        [
            ["{%tr for p in presents %}", "", ""],
            ["{{ p.nom }}", "{{ p.qualite }}", "{{ p.organisme }}"],
            ["{%tr endfor %}", "", ""],
        ],
        widths=[5.0, 5.5, 6.0],
    )
    w.para("Excusés :", bold=True, align="left")
    w.tag("{%p if excuses %}")
    w.tag("{%p for e in excuses %}")
    # No « , » nor « () » after someone whose role or organisation is not known.
    w.bullet("{{ e.nom }}{% if e.qualite %}, {{ e.qualite }}{% endif %}"
             "{% if e.organisme %} ({{ e.organisme }}){% endif %}")
    w.tag("{%p endfor %}")
    w.tag("{%p else %}")
    w.para("Aucun.")
    w.tag("{%p endif %}")

    w.heading("Ordre du jour")
    w.tag("{%p for point in ordre_du_jour %}")
    w.para("{{ loop.index }}. {{ point.titre }}", align="left")
    w.tag("{%p endfor %}")

    w.heading("Déroulement de la séance")
    w.tag("{%p for point in ordre_du_jour %}")
    w.para("{{ loop.index }}. {{ point.titre }}", bold=True, align="left")
    w.para("{{ point.compte_rendu }}")
    w.tag("{%p endfor %}")

    w.heading("Relevé de décisions")
    w.tag("{%p if decisions %}")
    w.table(
        ["Décision", "Responsable", "Échéance"],
        [
            ["{%tr for d in decisions %}", "", ""],
            ["{{ d.decision }}", "{{ d.responsable }}", "{{ d.echeance }}"],
            ["{%tr endfor %}", "", ""],
        ],
        widths=[9.0, 4.5, 3.0],
    )
    w.tag("{%p else %}")
    w.para("Aucune décision n’a été prise.")
    w.tag("{%p endif %}")

    w.heading("Prochaine réunion")
    w.tag("{%p if prochaine_reunion %}")
    w.para("La prochaine réunion du comité aura lieu le {{ prochaine_reunion }}"
           "{% if prochaine_reunion_lieu %}, {{ prochaine_reunion_lieu }}{% endif %}.")
    w.tag("{%p else %}")
    w.para("La date de la prochaine réunion sera communiquée ultérieurement.")
    w.tag("{%p endif %}")

    w.para("Compte rendu établi par {{ redacteur }} et diffusé aux membres du comité et au réseau "
           "« Passeurs d’images ».", italic=True)
    return w.to_bytes()


BUILDERS: dict[str, Callable[[], bytes]] = {
    "convention-drac-coordination": build_convention,
    "avenant": build_avenant,
    "contrat-objectifs": build_contrat_objectifs,
    "convention-cadre-signataires": build_protocole,
    "compte-rendu-comite": build_compte_rendu,
}


def build_all() -> dict[str, bytes]:
    """Build every built-in model in memory, by slug."""
    missing = {m.slug for m in BUILTIN_MODELS} - set(BUILDERS)
    if missing:
        raise SystemExit(f"no builder for {sorted(missing)}")
    return {model.slug: BUILDERS[model.slug]() for model in BUILTIN_MODELS}


def main(argv: list[str] | None = None, *, out_dir: Path = MODELS_DIR) -> int:
    """Write the models, or with --check report those that differ from the files on disk."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if a model file is out of date")
    args = parser.parse_args(argv)
    built = build_all()
    if args.check:
        stale = [
            slug for slug, data in built.items()
            if not (out_dir / f"{slug}.docx").is_file() or (out_dir / f"{slug}.docx").read_bytes() != data
        ]
        for slug in stale:
            print(f"modèle à reconstruire : {slug}.docx (lancez python scripts/build_models.py)")
        return 1 if stale else 0
    out_dir.mkdir(parents=True, exist_ok=True)
    for slug, data in built.items():
        (out_dir / f"{slug}.docx").write_bytes(data)
        print(f"{slug}.docx : {len(data)} octets")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
