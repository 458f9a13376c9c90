"""Forms of the admin blueprint."""

from __future__ import annotations

from wtforms import BooleanField, EmailField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Length, Optional

from documents.models import Role
from intranet.forms import FrenchForm, choices


def role_choices() -> list:
    """Roles as (value, French label)."""
    return choices((r.value, r.label) for r in Role)


class UserCreateForm(FrenchForm):
    """Create an account; a one-time password is shown once."""

    email = EmailField("Adresse e-mail", validators=[DataRequired("L'adresse e-mail est obligatoire."),
                                                     Length(max=254)])
    name = StringField("Nom complet", validators=[Optional(), Length(max=200)])
    role = SelectField("Rôle", choices=role_choices())
    region = SelectField("Région (obligatoire pour l'équipe régionale)", validate_choice=False)
    submit = SubmitField("Créer le compte")


class UserEditForm(FrenchForm):
    """Edit an account."""

    name = StringField("Nom complet", validators=[Optional(), Length(max=200)])
    role = SelectField("Rôle", choices=role_choices())
    region = SelectField("Région (obligatoire pour l'équipe régionale)", validate_choice=False)
    active = BooleanField("Compte actif")
    submit = SubmitField("Enregistrer")
