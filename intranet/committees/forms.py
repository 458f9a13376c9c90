"""Forms of the committees blueprint."""

from __future__ import annotations

from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    IntegerField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from documents.bounds import MAX_ID
from documents.models import ActionStatus, DecisionKind, DocType, MemberRole
from intranet.forms import FrenchForm, choices


class CommitteeForm(FrenchForm):
    """Create a local committee."""

    name = StringField("Nom du comité", validators=[DataRequired("Le nom du comité est obligatoire."),
                                                    Length(max=300)])
    region = SelectField("Région", validate_choice=False)
    description = TextAreaField("Description (partenaires, territoire)", validators=[Optional(), Length(max=20000)])
    submit = SubmitField("Créer le comité")


class CommitteeEditForm(FrenchForm):
    """Change a committee's name, description and active flag."""

    name = StringField("Nom du comité", validators=[DataRequired("Le nom du comité est obligatoire."),
                                                    Length(max=300)])
    description = TextAreaField("Description (partenaires, territoire)", validators=[Optional(), Length(max=20000)])
    active = BooleanField("Comité actif (décochez pour qu'il ne se réunisse plus ; son historique reste consultable)")
    submit = SubmitField("Enregistrer le comité")


class MemberRoleForm(FrenchForm):
    """Change a member's role."""

    role = SelectField("Rôle", choices=choices((r.value, r.label) for r in MemberRole))
    submit = SubmitField("Changer")


class GuestForm(FrenchForm):
    """Invite a one-off guest to one meeting."""

    name = StringField("Nom de la personne invitée", validators=[DataRequired("Indiquez le nom de la personne."),
                                                                   Length(max=200)])
    organisation = StringField("Organisme", validators=[Optional(), Length(max=300)])
    email = EmailField("Adresse e-mail (pour recevoir la convocation)", validators=[Optional(), Length(max=254)])
    submit = SubmitField("Inviter à cette réunion")


class MemberForm(FrenchForm):
    """Add a member: an intranet account, or an external contact."""

    user_id = SelectField("Compte de l'intranet", validate_choice=False, render_kw={"data-picker": ""})
    name = StringField("ou nom du contact extérieur", validators=[Optional(), Length(max=200)])
    organisation = StringField("Organisme", validators=[Optional(), Length(max=300)])
    email = EmailField("Adresse e-mail", validators=[Optional(), Length(max=254)])
    role = SelectField("Rôle", choices=choices((r.value, r.label) for r in MemberRole),
                       default=MemberRole.MEMBRE.value)
    submit = SubmitField("Ajouter le membre")


class MeetingForm(FrenchForm):
    """Schedule or change a meeting."""

    title = StringField("Intitulé", validators=[Optional(), Length(max=300)],
                        default="Réunion du comité de pilotage")
    day = DateField("Date", validators=[DataRequired("Indiquez la date de la réunion.")])
    start = TimeField("Heure de début", validators=[DataRequired("Indiquez l'heure de début.")])
    end = TimeField("Heure de fin", validators=[Optional()])
    place = StringField("Lieu", validators=[Optional(), Length(max=500)])
    visio_url = StringField("Lien de visioconférence", validators=[Optional(), Length(max=500)])
    agenda = TextAreaField("Ordre du jour (un point par ligne, dans l'ordre)", validators=[Optional()])
    notes = TextAreaField("Informations pratiques", validators=[Optional(), Length(max=20000)])
    submit = SubmitField("Enregistrer la réunion")


class DuplicateForm(FrenchForm):
    """Prepare the next meeting from this one."""

    day = DateField("Date de la prochaine réunion", validators=[DataRequired("Indiquez la date.")])
    start = TimeField("Heure de début", validators=[DataRequired("Indiquez l'heure.")])
    submit = SubmitField("Préparer la prochaine réunion")


class DecisionForm(FrenchForm):
    """Record a decision or a project validation."""

    kind = SelectField("Type", choices=choices((k.value, k.label) for k in DecisionKind),
                       default=DecisionKind.DECISION.value)
    text = TextAreaField("Décision", validators=[Optional(), Length(max=20000)])
    project_name = StringField("Nom du projet", validators=[Optional(), Length(max=300)])
    porteur = StringField("Porteur de projet", validators=[Optional(), Length(max=300)])
    commune = StringField("Commune", validators=[Optional(), Length(max=200)])
    quartier_code = SelectField("Quartier (annexe 2)", validate_choice=False, render_kw={"data-picker": ""})
    actions_concerned = TextAreaField("Actions concernées", validators=[Optional(), Length(max=20000)])
    submit = SubmitField("Enregistrer la décision")


class ActionForm(FrenchForm):
    """Record an action."""

    title = StringField("Action", validators=[DataRequired("Décrivez l'action."), Length(max=2000)])
    owner = StringField("Responsable", validators=[Optional(), Length(max=200)])
    due_date = DateField("Échéance", validators=[Optional()])
    decision_id = SelectField("Décision liée", validate_choice=False)
    submit = SubmitField("Ajouter l'action")


class ActionStatusForm(FrenchForm):
    """Change an action's status."""

    status = SelectField("Statut", choices=choices((s.value, s.label) for s in ActionStatus))
    submit = SubmitField("Changer")


class AttachForm(FrenchForm):
    """Attach an archived document, found by searching (see ``attachform``) or by its number."""

    document = SelectField("Document à joindre", validate_choice=False)
    document_id = IntegerField("… ou son numéro dans l'archive", validators=[Optional(), NumberRange(1, MAX_ID)])
    submit = SubmitField("Joindre")


class UploadForm(FrenchForm):
    """Upload a document (attachment or minutes)."""

    file = FileField("Fichier (Word, OpenDocument ou PDF)", validators=[FileRequired("Choisissez un fichier.")])
    title = StringField("Titre", validators=[Optional(), Length(max=500)])
    doc_type = SelectField("Type", choices=choices((t.value, t.label) for t in DocType if t is not DocType.MODELE),
                           default=DocType.AUTRE.value)
    submit = SubmitField("Déposer")


class CommentForm(FrenchForm):
    """A remark on submitted minutes."""

    body = TextAreaField("Votre remarque", validators=[DataRequired("Écrivez votre remarque."), Length(max=5000)])
    submit = SubmitField("Envoyer la remarque")
