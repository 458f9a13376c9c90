"""All models, imported here so that ``Base.metadata`` knows every table."""

from documents.models.accounts import ApiToken, LoginAttempt, Role, User, UserSession
from documents.models.archive import (
    DocStatus,
    DocType,
    Document,
    DocumentLink,
    DocumentVersion,
    IndexOutbox,
    LinkType,
    TextStatus,
    document_party,
    document_quartier,
)
from documents.models.audit import AuditEvent
from documents.models.reference import Organisation, OrganisationKind, Quartier, Region

__all__ = [
    "DocStatus",
    "DocType",
    "Document",
    "DocumentLink",
    "DocumentVersion",
    "IndexOutbox",
    "LinkType",
    "TextStatus",
    "document_party",
    "document_quartier",
    "ApiToken",
    "AuditEvent",
    "LoginAttempt",
    "Organisation",
    "OrganisationKind",
    "Quartier",
    "Region",
    "Role",
    "User",
    "UserSession",
]
