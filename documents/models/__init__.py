"""All models, imported here so that ``Base.metadata`` knows every table."""

from documents.models.accounts import ApiToken, LoginAttempt, Role, User, UserSession
from documents.models.agreements import AgreementAmount
from documents.models.archive import (
    INDEXED_TEXT_STATUSES,
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
from documents.models.committees import (
    ActionItem,
    ActionStatus,
    AgendaItem,
    Attendance,
    AttendanceStatus,
    CalendarToken,
    Committee,
    CommitteeLevel,
    CommitteeMember,
    Decision,
    DecisionKind,
    Meeting,
    MeetingDocument,
    MeetingStatus,
    MemberRole,
    MinutesComment,
    MinutesStatus,
)
from documents.models.deadlines import (
    DeadlineAlert,
    DeadlineFeedToken,
    DeadlineHandling,
    DeadlineOutcome,
    DocumentDeadline,
)
from documents.models.drafting import BatchStatus, DraftingBatch, DraftingTemplate, FieldOverride, Generation
from documents.models.mail import MailOutbox, MailState
from documents.models.ocr import OcrJob, OcrState
from documents.models.reference import Organisation, OrganisationKind, Quartier, Region
from documents.models.signatures import SignatureStep, StepKind
from documents.models.thumbnails import ThumbnailJob, ThumbnailState

__all__ = [
    "AgreementAmount",
    "ActionItem", "ActionStatus", "AgendaItem", "Attendance", "AttendanceStatus", "CalendarToken", "Committee",
    "CommitteeLevel", "CommitteeMember", "Decision", "DecisionKind", "Meeting", "MeetingDocument", "MeetingStatus",
    "MemberRole", "MinutesComment", "MinutesStatus",
    "BatchStatus", "DraftingBatch", "DraftingTemplate", "FieldOverride", "Generation",
    "MailOutbox", "MailState",
    "DeadlineAlert", "DeadlineFeedToken", "DeadlineHandling", "DeadlineOutcome", "DocumentDeadline",
    "DocStatus",
    "DocType",
    "Document",
    "DocumentLink",
    "DocumentVersion",
    "IndexOutbox",
    "OcrJob",
    "OcrState",
    "ThumbnailJob",
    "ThumbnailState",
    "LinkType",
    "TextStatus",
    "INDEXED_TEXT_STATUSES",
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
    "SignatureStep",
    "StepKind",
]

# Registers the flush hook that keeps the stored deadlines current (imported last: it needs the models).
import documents.deadline_store  # noqa: E402,F401  isort:skip
