"""``intranet amounts`` (read or enter an agreement's amounts) and ``intranet timeline`` (a region's years)."""

from __future__ import annotations

import json
from typing import Any

import click
from flask.cli import with_appcontext

from documents.bounds import MAX_ID
from intranet.library.cli import _AS, _actor, _fail, _session


def _line_option(values: tuple[str, ...]) -> dict[str, str]:
    from documents.agreements.amounts import LINE_KEYS

    out: dict[str, str] = {}
    for item in values:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or key not in LINE_KEYS:
            _fail(f"--line attend LIGNE=MONTANT, avec LIGNE parmi : {', '.join(LINE_KEYS)} (reçu « {item} »).")
        out[key] = value
    return out


def _money(amount: Any) -> str:
    from documents.formatting import format_amount

    return "—" if amount is None else format_amount(amount, plain_spaces=True)


@click.command("amounts")
@click.argument("document_id", type=click.IntRange(min=1, max=MAX_ID))
@click.option("--line", "lines", multiple=True, metavar="LIGNE=MONTANT",
              help="Montant d'une ligne (mission_coordination, projets_coordination, formation, sensibilisation), "
                   "par exemple formation=4250,50 ; vide pour effacer. Répétable.")
@click.option("--json", "as_json", is_flag=True, help="Sortie JSON.")
@_AS
@with_appcontext
def amounts_cmd(document_id: int, lines: tuple[str, ...], as_json: bool, as_email: str | None) -> None:
    """Affiche les montants d'un accord ou, avec --line, les saisit ou les corrige (journalisé)."""
    from documents import archive
    from documents.agreements import amounts as A
    from documents.agreements import timeline as T
    from documents.errors import DomainError

    actor = _actor(as_email)
    given = _line_option(lines)
    session = _session()
    try:
        doc = archive.get_document(session, actor, document_id)
        if not A.is_agreement(doc):
            _fail("ce document n'est ni une convention, ni un avenant, ni un contrat d'objectifs.")
        if given:
            A.set_amounts(session, doc, actor=actor, amounts=given, ip="cli")
            session.commit()
        view = T.agreement_view(session, actor, doc)
    except DomainError as exc:
        session.rollback()
        details = "; ".join(getattr(exc, "errors", {}).values())
        _fail(exc.message + (f" ({details})" if details and details not in exc.message else ""))
        return
    amounts = view.agreement.amounts
    if as_json:
        click.echo(json.dumps({
            "document_id": doc.id, "amounts": {k: A.amount_json(v) for k, v in amounts.values.items()},
            "sources": {i.line.key: i.source for i in amounts.lines}, "total": A.amount_json(amounts.total),
            "in_force": {k: A.amount_json(v) for k, v in view.applied.lines.items()} if view.applied else None,
        }, ensure_ascii=False, indent=2))
        return
    if given:
        click.echo(f"Document {doc.id} : montants enregistrés.")
    for item in amounts.lines:
        source = f" ({item.source})" if item.source else ""
        click.echo(f"{item.line.key:<22} {_money(item.amount):>22}{source}  {item.line.label}")
    click.echo(f"{'total':<22} {_money(amounts.total):>22}")
    if view.applied is not None and view.applied.avenants:
        click.echo(f"En vigueur après avenant(s) {', '.join('n° ' + str(a.id) for a in view.applied.avenants)} : "
                   f"{_money(view.applied.total)}")


@click.command("timeline")
@click.argument("region_code")
@click.option("--json", "as_json", is_flag=True, help="Sortie JSON (comme l'API).")
@_AS
@with_appcontext
def timeline_cmd(region_code: str, as_json: bool, as_email: str | None) -> None:
    """Conventions, avenants et contrats d'objectifs d'une région, année par année, avec les montants en vigueur."""
    from documents.agreements import amounts as A
    from documents.agreements import timeline as T
    from documents.errors import DomainError

    actor = _actor(as_email)
    try:
        timeline = T.region_timeline(_session(), actor, region_code)
    except DomainError as exc:
        _fail(f"{exc.message} (code « {region_code[:T.MAX_CODE]} »)")
        return
    if as_json:
        click.echo(json.dumps(T.timeline_json(timeline), ensure_ascii=False, indent=2))
        return
    click.echo(f"{timeline.name} ({', '.join(timeline.codes)})")
    if not timeline.rows:
        click.echo("Aucune convention, aucun avenant ni contrat d'objectifs.")
    for row in timeline.rows:
        agreements = ", ".join(f"n° {a.agreement.id}" + (f" (+ avenant {', '.join(str(v.id) for v in a.avenants)})"
                                                          if a.avenants else "") for a in row.counted)
        amounts = " | ".join(f"{line.key} {_money(row.lines[line.key])}" for line in A.LINES)
        click.echo(f"{row.year or 'année ?'}  total {_money(row.total)}  [{agreements or 'aucune convention'}]  "
                   f"{amounts}")
        for avenant in row.loose_avenants:
            click.echo(f"      avenant n° {avenant.id} non rattaché à une convention : montants non appliqués")


COMMANDS: list[Any] = [amounts_cmd, timeline_cmd]
