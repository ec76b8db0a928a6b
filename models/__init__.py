"""SQLAlchemy 2 typed models of the grid, people, cases and messaging; no business rules beyond invariants."""

from models.appointments import Booking, BookingStatus, SlotSeats, WaitlistEntry, WaitStatus
from models.base import Base, UTCDateTime
from models.cases import Case, CaseEvent, CaseKind, CaseStatus, Rating
from models.grid import ChatGroup, GridUnit, Identity, Resident, Staff, StaffRole, UnitLevel
from models.integrations import ApiKey, Open311Token
from models.messaging import Conversation, InboundMessage, InboundStatus, Outbox, SendState
from models.platform import JobRun, PlatformToken, StaffInvite
from models.web import CasePhoto, LoginToken, StaffPassword, WebAudit, WebSession

__all__ = [
    "Base", "UTCDateTime", "Case", "CaseEvent", "CaseKind", "CaseStatus", "Rating", "ChatGroup", "GridUnit",
    "Identity", "Resident", "Staff", "StaffRole", "UnitLevel", "Conversation", "InboundMessage",
    "InboundStatus", "Outbox", "SendState", "JobRun", "PlatformToken", "StaffInvite", "ApiKey", "Open311Token",
    "Booking", "BookingStatus", "SlotSeats", "WaitlistEntry", "WaitStatus",
    "CasePhoto", "LoginToken", "StaffPassword", "WebAudit", "WebSession",
]
