"""Forms of the archive: upload, metadata, new version, links, purge."""

from __future__ import annotations

from typing import Any

from flask_wtf.file import FileField, MultipleFileField
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from documents.archive import Metadata
from documents.bounds import MAX_ID
from documents.permissions import NATIONAL
from intranet.forms import FrenchForm

_MONTHS = NumberRange(0, 1200, "Indiquez un nombre de mois entre 0 et 1200.")


class MetadataForm(FrenchForm):
    """The descriptive fields of a document."""

    title = StringField("Titre", validators=[Optional(), Length(max=500, message="500 caractères au plus.")])
    doc_type = SelectField("Type de document")
    region = SelectField("Région", description="« National » pour les documents qui ne relèvent d'aucune région.")
    year = IntegerField("Année", validators=[Optional(), NumberRange(1900, 2200, "Année entre 1900 et 2200.")])
    status = SelectField("Statut")
    signature_date = DateField("Date de signature", validators=[Optional()])
    effective_date = DateField("Date d'effet", validators=[Optional()])
    end_date = DateField("Échéance", validators=[Optional()])
    duration_months = IntegerField("Durée (mois)", validators=[Optional(), _MONTHS])
    tacit_renewal = BooleanField("Tacite reconduction")
    notice_months = IntegerField("Préavis (mois)", validators=[Optional(), _MONTHS])
    parties = SelectMultipleField("Parties (organisations du référentiel)", coerce=int, validate_choice=True,
                                  render_kw={"data-picker": ""})
    quartiers = SelectMultipleField("Quartiers « Espoir banlieues »", render_kw={"data-picker": ""})
    keywords = StringField("Mots-clés", description="Séparés par des virgules.",
                           validators=[Optional(), Length(max=2000)])
    notes = TextAreaField("Notes", validators=[Optional(), Length(max=20000)])

    def validate_end_date(self, field: Any) -> None:
        """An échéance cannot precede the date d'effet."""
        if field.data and self.effective_date.data and field.data < self.effective_date.data:
            raise ValidationError("L'échéance ne peut pas précéder la date d'effet.")

    def metadata(self, *, title: str | None = None, doc_type: str | None = None,
                 year: int | None = None) -> Metadata:
        """The form's values as archive metadata; per-file values override the shared ones."""
        region = self.region.data or ""
        return Metadata(
            title=title if title is not None else (self.title.data or ""),
            doc_type=doc_type or self.doc_type.data or "autre",
            region_code=None if region in ("", NATIONAL) else region,
            year=year if year is not None else self.year.data,
            status=self.status.data or "brouillon",
            signature_date=self.signature_date.data,
            effective_date=self.effective_date.data,
            end_date=self.end_date.data,
            duration_months=self.duration_months.data,
            tacit_renewal=bool(self.tacit_renewal.data),
            notice_months=self.notice_months.data,
            keywords=[k for k in (self.keywords.data or "").split(",") if k.strip()],
            notes=self.notes.data or "",
            party_ids=list(self.parties.data or []),
            quartier_codes=list(self.quartiers.data or []),
        )

    def fill(self, meta: Metadata) -> None:
        """Put a document's metadata in the form (GET of the edit page)."""
        self.title.data = meta.title
        self.doc_type.data = meta.doc_type
        self.region.data = meta.region_code or NATIONAL
        self.year.data = meta.year
        self.status.data = meta.status
        self.signature_date.data = meta.signature_date
        self.effective_date.data = meta.effective_date
        self.end_date.data = meta.end_date
        self.duration_months.data = meta.duration_months
        self.tacit_renewal.data = meta.tacit_renewal
        self.notice_months.data = meta.notice_months
        self.keywords.data = ", ".join(meta.keywords)
        self.notes.data = meta.notes
        self.parties.data = list(meta.party_ids)
        self.quartiers.data = list(meta.quartier_codes)


class UploadForm(MetadataForm):
    """One or many files, one set of metadata applied to all (per-file title, type and year optional)."""

    files = MultipleFileField("Fichiers (.docx, .odt, .pdf ; .doc, .rtf, .txt acceptés)")
    title = StringField(
        "Titre", description="Pour un seul fichier. Laissé vide, chaque document prend son propre titre "
                         "(propriétés du fichier ou premier titre du texte), à défaut le nom de son fichier.",
        validators=[Optional(), Length(max=500, message="500 caractères au plus.")],
    )
    comment = StringField("Commentaire de version", validators=[Optional(), Length(max=2000)])
    submit = SubmitField("Archiver")


class EditForm(MetadataForm):
    """Edit a document's metadata."""

    title = StringField("Titre", validators=[DataRequired("Le titre est obligatoire."),
                                             Length(max=500, message="500 caractères au plus.")])
    submit = SubmitField("Enregistrer")


class VersionForm(FrenchForm):
    """Upload a new version of a document."""

    file = FileField("Nouveau fichier")
    comment = StringField("Commentaire (ce qui a changé)", validators=[Optional(), Length(max=2000)])
    submit = SubmitField("Ajouter la version")


class LinkForm(FrenchForm):
    """Link this document to another one, in either direction."""

    link_type = SelectField("Type de lien")
    target = SelectField("Document lié", validate_choice=False)
    target_id = IntegerField("… ou son numéro", validators=[Optional(), NumberRange(1, MAX_ID)])
    submit = SubmitField("Ajouter le lien")


class PurgeForm(FrenchForm):
    """Confirm a purge."""

    confirm = BooleanField("Je confirme la suppression définitive de ce document et de ses fichiers.",
                           validators=[DataRequired("Cochez la case pour confirmer.")])
    submit = SubmitField("Purger définitivement")
