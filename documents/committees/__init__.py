"""Steering committees: committees and members, meetings, attendance, minutes, decisions, actions.

Every verb takes an explicit session and plain values, checks permissions, writes the
audit log (and an index-outbox row for meetings) in the same transaction, and only flushes:
the caller's unit of work commits (``documents.unitofwork``). Import each verb from the
module that does its job:

- ``scope``: who sees and changes what (``visible_committees``, ``get_meeting``, ``can_manage``…);
- ``committee``, ``members``: committees and their members;
- ``meetings``, ``attendance``, ``agenda``, ``attachments``: a meeting and what hangs on it;
- ``decisions``, ``actions``, ``minutes``: what a meeting decides and its compte rendu;
- ``notifications``: mail to the members, through the mail outbox;
- ``lists``, ``exports``, ``compliance``, ``dashboard``: lists, CSV, the protocol's checks, the home panel;
- ``feeds``: personal calendar and Atom feeds; ``indexing``: a meeting's search entry;
- ``dates``, ``limits``, ``errors``: Paris time, input bounds, ``CommitteeError``.

"""

from __future__ import annotations

# The search indexer finds meetings by this name on the package (documents.indexer).
from documents.committees.indexing import index_entry_for_meeting

__all__ = ["index_entry_for_meeting"]
