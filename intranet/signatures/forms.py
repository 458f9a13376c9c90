"""Forms of the signature track: send, record a signature (with the signed scan), return to draft."""

from __future__ import annotations

from flask_wtf.file import FileField
from wtforms import DateField, HiddenField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from documents.signatures.operations import MAX_COMMENT, MAX_LABEL, MAX_REASON
from intranet.forms import FrenchForm

_DATE = "Date attendue au format JJ/MM/AAAA."


class SendForm(FrenchForm):
    """Envoyer pour signature: to whom, on which day."""

    recipient = StringField("Destinataire (personne ou organisation)", validators=[
        Optional(), Length(max=MAX_LABEL, message=f"{MAX_LABEL} caractères au plus.")])
    recipient_user = SelectField("Compte de l'intranet destinataire, prévenu par courriel (facultatif)", choices=[],
                                 validate_choice=False)
    date = DateField("Date d'envoi", validators=[DataRequired(_DATE)])
    submit = SubmitField("Envoyer pour signature")


class SignForm(FrenchForm):
    """Record the signature waited for; the last one carries the signed scan."""

    step = HiddenField(validators=[DataRequired("Étape manquante.")])
    signatory = SelectField("Signataire", choices=[], validate_choice=False)
    date = DateField("Date de signature", validators=[DataRequired(_DATE)])
    file = FileField("Scan du document signé (PDF)")
    comment = StringField("Commentaire de la version signée", validators=[
        Optional(), Length(max=MAX_COMMENT, message=f"{MAX_COMMENT} caractères au plus.")])
    submit = SubmitField("Enregistrer la signature")


class ReturnForm(FrenchForm):
    """Stop the track: back to « brouillon », with a written reason."""

    reason = TextAreaField("Motif du retour en brouillon", validators=[
        DataRequired("Indiquez le motif du retour en brouillon."),
        Length(max=MAX_REASON, message=f"{MAX_REASON} caractères au plus.")])
    submit = SubmitField("Renvoyer en brouillon")
