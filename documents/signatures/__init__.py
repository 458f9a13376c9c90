"""The signature track of conventions, avenants, contrats d'objectifs and protocoles.

brouillon → envoyé pour signature → signé par la coordination → signé par la DRAC (or, for a
protocole, by each national signatory) → signé, locked, with the signed scan as its last
version. Web views, the API, the CLI and the reminder job call these verbs.
"""

from documents.signatures.operations import record_signature, return_to_draft, send_for_signature
from documents.signatures.track import (
    SIGNABLE_TYPES,
    NextStep,
    SignatureError,
    Track,
    is_signable,
    national_signatories,
    step_label,
    track_of,
)
from documents.signatures.waiting import (
    DEFAULT_REMINDER_DAYS,
    Awaiting,
    ReminderReport,
    awaiting_signature,
    reminder_delays,
    signature_reminders,
)

__all__ = [
    "DEFAULT_REMINDER_DAYS", "SIGNABLE_TYPES", "Awaiting", "NextStep", "ReminderReport", "SignatureError", "Track",
    "awaiting_signature", "is_signable", "national_signatories", "record_signature", "reminder_delays",
    "return_to_draft", "send_for_signature", "signature_reminders", "step_label", "track_of",
]
