"""The verbs of the signature track: send for signature, record a signature, return to draft.

Each verb checks rights, type, lock and order, adds one ``signature_step`` row, writes the
audit log and only flushes (the caller's unit of work commits). The last signature files
the signed scan as a new version (``archive.add_version``, before the status turns « signé »
and the record locks), sets ``signature_date`` and, when the agreement had none, a date
d'effet on the day of signature; the stored échéances follow through the flush hook of
``documents.deadline_store``.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from documents import archive, audit, locking, mailqueue, permissions
from documents.bounds import YEAR_MIN, has_nul
from documents.db import utcnow
from documents.errors import PermissionDenied, ValidationError
from documents.mail import Message, valid_address
from documents.models import DocStatus, Document, Organisation, SignatureStep, StepKind, User
from documents.signatures.track import SignatureError, Track, is_signable, step_label, track_of, track_url
from documents.storage import Storage

MAX_LABEL = 300
MAX_REASON = 2000
MAX_COMMENT = 2000

_TYPES_FR = "les conventions, avenants, contrats d'objectifs et protocoles"


def _text(value: str | None, field: str, limit: int) -> str:
    if value is not None and has_nul(value):
        raise ValidationError("Le texte envoyé contient un caractère nul (\\0), refusé.",
                              errors={field: "Caractère nul (\\0) refusé."})
    text = " ".join((value or "").split())
    if len(text) > limit:
        raise ValidationError(f"Ce champ dépasse {limit} caractères.", errors={field: f"{limit} caractères au plus."})
    return text


def _check_document(session: Session, document: Document, actor: User | None) -> None:
    """Rights, trash, type and lock: the refusals shared by every step."""
    if not permissions.can_write_region(actor, document.region_code):
        raise PermissionDenied("Vous ne pouvez pas modifier les documents de cette région.")
    if document.in_trash:
        raise ValidationError("Ce document est dans la corbeille : restaurez-le d'abord.")
    if not is_signable(document):
        raise ValidationError(f"Seuls {_TYPES_FR} passent par le circuit de signature "
                              f"(ce document est de type « {document.type_label} »).",
                              errors={"document": "Type sans circuit de signature."})
    if locking.is_locked(session, document):
        raise locking.LockedDocument(
            f"Ce document est verrouillé ({locking.lock_reason(session, document)}) : "
            "son circuit de signature est terminé.")


def _check_date(on: dt.date, track: Track, today: dt.date, what: str) -> dt.date:
    if not isinstance(on, dt.date) or isinstance(on, dt.datetime):
        raise ValidationError("Date attendue.", errors={"date": "Date attendue au format AAAA-MM-JJ."})
    if on.year < YEAR_MIN:
        raise ValidationError(f"La date {what} doit être postérieure à {YEAR_MIN}.",
                              errors={"date": f"Année {YEAR_MIN} ou suivante."})
    if on > today:
        raise ValidationError(f"La date {what} ne peut pas être dans le futur (aujourd'hui : {today:%d/%m/%Y}).",
                              errors={"date": "Date future refusée."})
    last = track.last_date
    if last is not None and on < last:
        raise ValidationError(f"La date {what} ne peut pas précéder l'étape précédente du circuit "
                              f"({last:%d/%m/%Y}).", errors={"date": f"Le {last:%d/%m/%Y} ou après."})
    return on


def _add(session: Session, document: Document, track: Track, kind: StepKind, *, actor: User | None,
         on: dt.date, signatory: str = "", organisation: Organisation | None = None,
         recipient: User | None = None, reason: str = "") -> SignatureStep:
    step = SignatureStep(document_id=document.id, cycle=track.cycle, seq=len(track.steps) + 1, kind=kind.value,
                         signatory=signatory, organisation_id=organisation.id if organisation else None,
                         recipient_id=recipient.id if recipient else None, step_date=on, reason=reason,
                         actor_id=actor.id if actor else None)
    session.add(step)
    try:
        # No savepoint here: on SQLite (pysqlite) a SAVEPOINT that opens the transaction is committed by
        # its RELEASE, so a later refusal (a bad scan) would leave this step behind. A clash on the unique
        # key leaves the session to be rolled back, which every edge does on a refusal.
        session.flush()
    except IntegrityError:
        raise SignatureError("Une autre personne vient d'enregistrer une étape de ce circuit : "
                             "rechargez la page pour voir où il en est.") from None
    document.updated_at = utcnow()
    document.updated_by_id = actor.id if actor else None
    return step


def _tell_recipient(session: Session, document: Document, step: SignatureStep, *, actor: User | None,
                    recipient: User, base_url: str) -> bool:
    """Queue a message telling ``recipient`` the document waits for them; False when they have no usable address."""
    address = (recipient.email or "").strip()
    if (actor is not None and recipient.id == actor.id) or not valid_address(address):
        return False
    sender = actor.display_name if actor is not None else "L'intranet"
    lines = ["Bonjour,", "", f"{sender} vous a confié ce document pour signature le {step.step_date:%d/%m/%Y}.", "",
             f"Document : {document.title} (n° {document.id})", f"Type : {document.type_label}",
             f"Région : {document.region_label}"]
    if base_url:
        lines += ["", f"Le circuit de signature : {track_url(base_url, document.id)}"]
    lines += ["", "Une relance vous sera envoyée si le document attend trop longtemps.", "",
              "— Intranet Passeurs d'images (message automatique)"]
    mailqueue.enqueue(session, Message(to=[address], subject=f"[Passeurs d'images] À signer : {document.title}"[:200],
                                       body="\n".join(lines)),
                      origin=f"signature-send:{document.id}:{step.id}")
    return True


def send_for_signature(session: Session, document: Document, *, actor: User | None, recipient: str = "",
                       recipient_user: User | None = None, on: dt.date, today: dt.date | None = None,
                       ip: str = "", base_url: str = "") -> SignatureStep:
    """Record that ``document`` went out for signature (to whom, on which day); its status becomes « en signature ».

    When it goes to an intranet account (not the sender's own), that person is told by e-mail, through the
    mail outbox in the same transaction (``base_url``: the intranet's address, for the link).
    """
    today = today or dt.date.today()
    _check_document(session, document, actor)
    track = track_of(session, document)
    if track.open:
        raise SignatureError("Ce document est déjà en signature : enregistrez les signatures, ou renvoyez-le "
                             "en brouillon avant de l'envoyer de nouveau.")
    if document.status not in (DocStatus.BROUILLON.value, DocStatus.EN_SIGNATURE.value):
        raise SignatureError(f"Ce document est « {document.status_label} » : seul un brouillon part en signature.")
    label = _text(recipient, "recipient", MAX_LABEL)
    if recipient_user is not None:
        if not recipient_user.active or not permissions.can_read_region(recipient_user, document.region_code):
            raise ValidationError("Ce compte ne peut pas consulter ce document : choisissez-en un autre.",
                                  errors={"recipient_user": "Compte sans accès à ce document."})
        label = label or recipient_user.display_name
    if not label:
        raise ValidationError("Indiquez à qui le document est envoyé (personne ou organisation).",
                              errors={"recipient": "Le destinataire est obligatoire."})
    on = _check_date(on, track, today, "d'envoi")
    step = _add(session, document, track, StepKind.ENVOI, actor=actor, on=on, signatory=label,
                recipient=recipient_user)
    document.status = DocStatus.EN_SIGNATURE.value
    archive.enqueue(session, document.id)
    session.flush()
    told = recipient_user is not None and _tell_recipient(session, document, step, actor=actor,
                                                          recipient=recipient_user, base_url=base_url)
    audit.record(session, "document.signature_send", actor=actor, object_type="document", object_id=document.id,
                 region_code=document.region_code, ip=ip,
                 details={"to": label, "date": on.isoformat(), "cycle": track.cycle,
                          **({"user": recipient_user.email, "mailed": told} if recipient_user else {})})
    session.flush()
    return step


def _parse_kind(kind: str | StepKind) -> StepKind:
    try:
        return StepKind(kind)
    except ValueError:
        raise ValidationError("Étape inconnue : coordination, drac ou signataire.",
                              errors={"step": "Étape inconnue."}) from None


def record_signature(session: Session, storage: Storage, document: Document, *, actor: User | None,
                     kind: str | StepKind, on: dt.date, organisation: Organisation | None = None,
                     signatory: str = "", scan: Path | None = None, filename: str = "", comment: str = "",
                     today: dt.date | None = None, ip: str = "") -> SignatureStep:
    """Record the next signature; the last one files ``scan`` as the signed version and signs the document."""
    today = today or dt.date.today()
    step_kind = _parse_kind(kind)
    if step_kind in (StepKind.ENVOI, StepKind.RETOUR):
        raise ValidationError("Étape inconnue : coordination, drac ou signataire.", errors={"step": "Étape inconnue."})
    _check_document(session, document, actor)
    track = track_of(session, document)
    if not track.open:
        raise SignatureError("Ce document n'est pas en signature : envoyez-le d'abord pour signature.")
    expected = track.next
    if expected is None:
        raise SignatureError("Aucune signature n'est attendue pour ce document.")
    if step_kind is not expected.kind:
        raise SignatureError(f"Étape attendue : « {expected.label} », et non « {step_label(step_kind, document)} ».")
    if step_kind is StepKind.SIGNATAIRE:
        if organisation is None:
            raise ValidationError("Indiquez quel signataire national a signé.",
                                  errors={"signatory": "Signataire obligatoire."})
        if organisation not in expected.signatories:
            already = any(s.organisation_id == organisation.id for s in track.steps)
            raise SignatureError(f"{organisation.short_name or organisation.name} a déjà signé ce protocole."
                                 if already else
                                 f"{organisation.name} n'est pas un signataire attendu de ce protocole.")
    label = _text(signatory, "signatory", MAX_LABEL)
    if organisation is not None:
        label = label or organisation.name
    note = _text(comment, "comment", MAX_COMMENT)
    on = _check_date(on, track, today, "de signature")
    if expected.final and scan is None:
        raise ValidationError("Joignez le scan du document signé : il devient la version signée.",
                              errors={"file": "Le scan signé est obligatoire pour la dernière signature."})
    step = _add(session, document, track, step_kind, actor=actor, on=on, signatory=label, organisation=organisation)
    details: dict[str, Any] = {"step": step_kind.value, "date": on.isoformat(), "cycle": track.cycle}
    if label:
        details["signatory"] = label
    if expected.final:
        assert scan is not None
        # The scan goes in while the document is still « en signature »: once signed, it is locked.
        version = archive.add_version(
            session, storage, document, actor=actor, path=scan, filename=filename or scan.name,
            comment=note or "Version signée (scan)", ip=ip,
            origin={"source": "signature", "signed": True, "cycle": track.cycle})
        step.version_id = version.id
        _sign(session, document, on=on, actor=actor, ip=ip)
        details.update({"final": True, "version": version.number})
    archive.enqueue(session, document.id)
    session.flush()
    audit.record(session, "document.signature", actor=actor, object_type="document", object_id=document.id,
                 region_code=document.region_code, ip=ip, details=details)
    session.flush()
    return step


def _sign(session: Session, document: Document, *, on: dt.date, actor: User | None, ip: str) -> None:
    document.status = DocStatus.SIGNE.value
    document.signature_date = on
    if document.effective_date is None:
        # The usual clause: the agreement takes effect on the day it is signed (its échéance follows
        # from its duration, recomputed by the deadline store's flush hook).
        document.effective_date = on
    # Signed anew after an administrator's unlocking: the record is sealed again.
    locking.relock(session, document, actor=actor, why="signé", ip=ip)


def return_to_draft(session: Session, document: Document, *, actor: User | None, reason: str,
                    today: dt.date | None = None, ip: str = "") -> SignatureStep:
    """Stop the running track with a written reason: the document is « brouillon » again."""
    today = today or dt.date.today()
    _check_document(session, document, actor)
    track = track_of(session, document)
    if not track.open:
        raise SignatureError("Ce document n'est pas en signature : il n'y a rien à renvoyer en brouillon.")
    text = _text(reason, "reason", MAX_REASON)
    if not text:
        raise ValidationError("Indiquez le motif du retour en brouillon.", errors={"reason": "Le motif est obligatoire."})
    # Dated today, or on the last step's day if that one was recorded ahead (never before it).
    on = max(today, track.last_date or today)
    step = _add(session, document, track, StepKind.RETOUR, actor=actor, on=on, reason=text)
    document.status = DocStatus.BROUILLON.value
    archive.enqueue(session, document.id)
    session.flush()
    audit.record(session, "document.signature_return", actor=actor, object_type="document", object_id=document.id,
                 region_code=document.region_code, ip=ip, details={"reason": text, "cycle": track.cycle})
    session.flush()
    return step
