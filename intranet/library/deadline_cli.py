"""``intranet deadlines`` (list échéances, overdue ones first) and ``intranet deadline-handle`` (record a term's outcome)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import click
from flask.cli import with_appcontext

from documents.bounds import MAX_ID
from intranet.library.cli import _AS, _actor, _run, _session


@click.command("deadlines")
@click.option("--overdue", is_flag=True, help="Seulement les dates dépassées sans suite enregistrée.")
@click.option("--days", type=click.IntRange(0, 3660), default=90, show_default=True,
              help="Horizon des dates à venir, en jours.")
@click.option("--today", "today_text", default=None, metavar="AAAA-MM-JJ", help="Date de référence (par défaut : aujourd'hui).")
@click.option("--json", "as_json", is_flag=True, help="Sortie JSON (une entrée par date).")
@click.option("--limit", type=click.IntRange(1, 100_000), default=None,
              help="Au plus N dates (les plus proches d'abord) ; par défaut toutes.")
@_AS
@with_appcontext
def deadlines_cmd(overdue: bool, days: int, today_text: str | None, as_json: bool, limit: int | None,
                  as_email: str | None) -> None:
    """Liste les échéances, reconductions et préavis visibles par le compte : dépassées, à venir, traitées."""
    from documents import deadline_lists
    from intranet.library.cli import _fail
    from intranet.library.views import today_paris

    try:
        today = dt.date.fromisoformat(today_text) if today_text else today_paris()
    except ValueError:
        _fail(f"date invalide : « {today_text} » (format AAAA-MM-JJ attendu).")
        return
    actor = _actor(as_email)
    rows = deadline_lists.deadlines_in_state(_session(), actor, today=today, days=days,
                                             state=deadline_lists.STATE_OVERDUE if overdue else None, limit=limit)
    if as_json:
        click.echo(json.dumps({"today": today.isoformat(), "items": [deadline_lists.deadline_json(r) for r in rows]},
                              ensure_ascii=False, indent=2))
        return
    if not rows:
        click.echo("Aucune date dépassée sans suite." if overdue else "Aucune date à signaler.")
        return
    for r in rows:
        state = r.state_label if r.handling is None else f"traitée : {r.handling.outcome_label.lower()}"
        click.echo(f"{r.deadline.date.isoformat()}  {state:<22} {r.deadline.label:<26} "
                   f"n° {r.document.id} {r.document.title}")


@click.command("deadline-handle")
@click.argument("document_id", type=click.IntRange(min=1, max=MAX_ID))
@click.argument("term", type=click.IntRange(min=0, max=100_000))
@click.argument("outcome", type=click.Choice(["reconduite", "denoncee", "remplacee"]))
@click.option("--replaced-by", "replacement_id", type=click.IntRange(min=1, max=MAX_ID), default=None,
              help="Pour « remplacee » : numéro du document qui le remplace.")
@click.option("--note", default="", help="Commentaire conservé avec la suite donnée.")
@_AS
@with_appcontext
def deadline_handle_cmd(document_id: int, term: int, outcome: str, replacement_id: int | None, note: str,
                        as_email: str | None) -> None:
    """Enregistre la suite donnée à un terme (0 = premier terme) : reconduite, dénoncée ou remplacée."""
    from documents import archive, deadline_store

    actor = _actor(as_email)

    def handle(session: Any) -> None:
        doc = archive.get_document(session, actor, document_id)
        replacement = archive.get_document(session, actor, replacement_id) if replacement_id else None
        deadline_store.handle_term(session, doc, actor=actor, term=term, outcome=outcome, replacement=replacement,
                                   note=note, ip="cli")

    _run(handle)
    click.echo(f"Document {document_id}, terme {term} : suite enregistrée ({outcome}).")
