"""``intranet`` commands of the drafting feature: list models, load the built-in ones, generate drafts."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from documents import drafting
from documents.bounds import MAX_ID
from documents.errors import DomainError, ValidationError
from documents.fieldnames import check_known_fields
from documents.models import Role, User


def _session() -> Any:
    from intranet.extensions import db

    return db.session


def _storage() -> Any:
    from intranet.extensions import storage

    return storage()


def load_models_hook(session: Any) -> None:
    """Bootstrap step: file the built-in Word models (idempotent)."""
    outcome = drafting.load_builtin_models(session, _storage())
    changed = {slug: state for slug, state in outcome.items() if state != "inchangé"}
    if changed:
        click.echo("Modèles intégrés : " + ", ".join(f"{slug} ({state})" for slug, state in changed.items()))


@click.group("templates", help="Modèles Word de rédaction.")
def templates_group() -> None:
    """Model commands."""


@templates_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Sortie JSON (slug, titre, champs).")
@with_appcontext
def list_cmd(as_json: bool) -> None:
    """Liste les modèles et leurs champs."""
    session = _session()
    items: list[dict[str, Any]] = []
    for info in drafting.list_templates(session, _storage()):
        fields = drafting.template_fields(session, info)
        items.append({
            "id": info.id, "slug": info.slug, "title": info.title, "output_type": info.output_type,
            "builtin": info.builtin, "version": info.version.number,
            "fields": [{"name": f.name, "label": f.label, "type": f.type, "required": f.required,
                        "computed": f.computed} for f in fields],
        })
    if as_json:
        click.echo(json.dumps(items, ensure_ascii=False, indent=2))
        return
    if not items:
        click.echo("Aucun modèle : lancez « intranet templates load ».")
    for item in items:
        click.echo(f"{item['slug']}  –  {item['title']} (version {item['version']})")
        click.echo("    champs : " + ", ".join(
            f["name"] + ("*" if f["required"] else "") for f in item["fields"]))


@templates_group.command("load")
@with_appcontext
def load_cmd() -> None:
    """Charge (ou met à jour) les modèles intégrés (idempotent)."""
    session = _session()
    outcome = drafting.load_builtin_models(session, _storage())
    session.commit()
    for slug, state in outcome.items():
        click.echo(f"{slug} : {state}")


def _actor(email: str | None) -> User:
    from intranet.cli import fail, user_by_email

    if email:
        return user_by_email(email)
    user = _session().scalar(select(User).where(User.role == Role.ADMIN.value, User.active.is_(True))
                             .order_by(User.id))
    if user is None:
        fail("aucun administrateur actif : précisez --user EMAIL.")
    assert user is not None
    return user


def _parse_set(items: tuple[str, ...]) -> dict[str, Any]:
    from intranet.cli import fail

    raw: dict[str, Any] = {}
    for item in items:
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or not name:
            fail(f"--set attend champ=valeur (reçu « {item} »).")
        if "." in name:
            owner, _, sub = name.partition(".")
            raw.setdefault(owner, {})[sub] = value
        else:
            raw[name] = value
    return raw


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for name, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(name), dict):
            merged[name] = {**merged[name], **value}
        else:
            merged[name] = value
    return merged


@click.command("generate")
@click.argument("model")
@click.option("--region", "region_code", default=None, help="Code de la région (ex. 11), ou « national ».")
@click.option("--all-regions", is_flag=True, help="Un brouillon par région (avec --values FICHIER.csv).")
@click.option("--year", type=int, default=None, help="Année des brouillons (par défaut : l'année en cours).")
@click.option("--set", "sets", multiple=True, help="champ=valeur (drac.nom=… pour une partie d'organisation).")
@click.option("--values", "values_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Valeurs : JSON (un brouillon) ou CSV avec une colonne region (--all-regions).")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Fichier produit : .docx (un brouillon) ou .zip (--all-regions).")
@click.option("--user", "email", default=None, help="Compte au nom duquel classer (par défaut : le premier administrateur).")
@click.option("--modifie", "modifies_id", type=click.IntRange(1, MAX_ID), default=None,
              help="Pour un avenant : numéro de la convention (ou du contrat d'objectifs) qu'il modifie ; "
                   "le brouillon lui est lié.")
@with_appcontext
def generate_cmd(model: str, region_code: str | None, all_regions: bool, year: int | None, sets: tuple[str, ...],
                 values_file: Path | None, out: Path, email: str | None, modifies_id: int | None) -> None:
    """Génère un brouillon (ou un par région) depuis un modèle et le classe dans les documents."""
    from intranet.cli import fail

    session, store = _session(), _storage()
    year = year or dt.date.today().year
    try:
        template = drafting.get_template(session, store, model)
        actor = _actor(email)
        extra = _parse_set(sets)
        fields = drafting.template_fields(session, template)
        # A misspelt --set used to be dropped silently and the draft made without it.
        check_known_fields(fields, extra, model=model)
        if all_regions:
            rows: dict[str, dict[str, Any]] = {}
            if values_file is not None:
                if values_file.suffix.lower() != ".csv":
                    fail("avec --all-regions, --values attend un fichier .csv (colonne region + champs).")
                rows = drafting.parse_values_csv(values_file.read_bytes(), fields)
            result = drafting.generate_batch(session, store, actor=actor, template=template, year=year,
                                             out_path=out, common=extra, rows=rows)
            session.commit()
            for o in result.outcomes:
                line = f"{o.region_code} {o.region_name} : {o.status}"
                line += f" – document n° {o.document_id}" if o.document_id else f" – {o.message}"
                click.echo(line)
                for key, message in o.errors.items():
                    click.echo(f"    {key} : {message}")
            click.echo(f"{len(result.produced)} brouillon(s) dans {out} ; {len(result.skipped)} région(s) ignorée(s).")
            if not result.produced:
                click.echo(drafting.NOTHING_PRODUCED, err=True)
                raise SystemExit(1)
            return
        if region_code is None:
            fail("précisez --region CODE (ou --region national, ou --all-regions).")
        if modifies_id is not None and all_regions:
            fail("--modifie vaut pour un seul avenant, pas avec --all-regions.")
        region = None if region_code == "national" else region_code
        given: dict[str, Any] = {}
        if values_file is not None:
            try:
                given = json.loads(values_file.read_text(encoding="utf-8"))
            except (ValueError, UnicodeDecodeError) as exc:
                fail(f"{values_file} n'est pas un JSON valide ({exc}).")
            if not isinstance(given, dict):
                fail(f"{values_file} doit contenir un objet JSON {{\"champ\": valeur}}.")
            check_known_fields(fields, given, model=model)
        raw = _merge(_merge(drafting.prefill(session, template, region, year), given), extra)
        draft = drafting.generate_draft(session, store, actor=actor, template=template, raw=raw,
                                        region_code=region, year=year, modifies_id=modifies_id)
        session.commit()
    except ValidationError as exc:
        click.echo(f"Erreur : {exc.message}", err=True)
        for key, message in exc.errors.items():
            click.echo(f"    {key} : {message}", err=True)
        raise SystemExit(2) from None
    except DomainError as exc:
        fail(exc.message)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    with store.open(draft.version.sha256) as src, out.open("wb") as dst:
        shutil.copyfileobj(src, dst)
    click.echo(f"Brouillon classé : document n° {draft.document.id}, version {draft.version.number} → {out}")


#: Click commands added to the ``intranet`` group.
COMMANDS: list[Any] = [templates_group, generate_cmd]


def _register_bootstrap() -> None:
    from intranet.cli import BOOTSTRAP_HOOKS

    if load_models_hook not in BOOTSTRAP_HOOKS:
        BOOTSTRAP_HOOKS.append(load_models_hook)


_register_bootstrap()
