"""Forms of the auth blueprint."""

from __future__ import annotations

from wtforms import EmailField, PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, EqualTo, Length

from intranet.forms import FrenchForm


class LoginForm(FrenchForm):
    """E-mail and password."""

    email = EmailField("Adresse e-mail", validators=[DataRequired("Saisissez votre adresse e-mail."),
                                                     Length(max=254)])
    password = PasswordField("Mot de passe", validators=[DataRequired("Saisissez votre mot de passe."),
                                                         Length(max=1024)])
    submit = SubmitField("Se connecter")


class PasswordForm(FrenchForm):
    """Change one's own password."""

    current = PasswordField("Mot de passe actuel", validators=[DataRequired("Saisissez votre mot de passe actuel.")])
    new = PasswordField(
        "Nouveau mot de passe (12 caractères au moins)",
        validators=[DataRequired("Saisissez un nouveau mot de passe."), Length(max=1024)],
    )
    confirm = PasswordField(
        "Confirmation du nouveau mot de passe",
        validators=[DataRequired("Confirmez le nouveau mot de passe."),
                    EqualTo("new", "Les deux mots de passe ne correspondent pas.")],
    )
    submit = SubmitField("Changer le mot de passe")


class TokenForm(FrenchForm):
    """Create a personal API token."""

    name = StringField("Nom du jeton (usage)", validators=[DataRequired("Donnez un nom au jeton."), Length(max=100)])
    submit = SubmitField("Créer un jeton")


class EmptyForm(FrenchForm):
    """A form with only the CSRF token, for POST buttons."""
