"""SQLAlchemy 2 typed models of the grid, people, cases and messaging; no business rules beyond invariants."""

from models.appointments import Booking, BookingStatus, SlotSeats, WaitlistEntry, WaitStatus
from models.base import Base, LabelledEnum, UTCDateTime
from models.cases import Case, CaseDayFigures, CaseEvent, CaseKind, CaseStatus, EventKind, Rating
from models.community import (
    Claim,
    Claimer,
    ClaimerKind,
    ClaimerStatus,
    ClaimStatus,
    CommunityEvent,
    CommunityPolicy,
    HoursStatus,
    Milestone,
    Project,
    ProjectStatus,
    VolunteerHours,
    Wish,
    WishCampaign,
    WishStatus,
)
from models.corrections import CategoryCorrection
from models.grid import (
    ChatGroup,
    GridPlace,
    GridUnit,
    GridVersion,
    Identity,
    PlaceKind,
    Resident,
    Staff,
    StaffRole,
    UnitLevel,
)
from models.integrations import ApiKey, Open311Token
from models.messaging import Conversation, InboundMessage, InboundStatus, Outbox, SendState
from models.platform import JobRun, PlatformToken, SendBudget, StaffInvite
from models.web import CasePhoto, LoginToken, StaffPassword, WebAudit, WebSession

__all__ = [
    "Base", "LabelledEnum", "UTCDateTime", "Case", "CaseDayFigures", "CaseEvent", "CategoryCorrection", "CaseKind", "CaseStatus", "EventKind", "Rating", "ChatGroup", "GridPlace", "GridUnit", "GridVersion", "PlaceKind",
    "Identity", "Resident", "Staff", "StaffRole", "UnitLevel", "Conversation", "InboundMessage",
    "InboundStatus", "Outbox", "SendState", "JobRun", "PlatformToken", "SendBudget", "StaffInvite", "ApiKey", "Open311Token",
    "Booking", "BookingStatus", "SlotSeats", "WaitlistEntry", "WaitStatus",
    "Claim", "Claimer",
    "ClaimerKind", "ClaimerStatus", "ClaimStatus", "CommunityEvent", "CommunityPolicy", "HoursStatus", "Milestone",
    "Project", "ProjectStatus", "VolunteerHours", "Wish", "WishCampaign", "WishStatus",
    "CasePhoto", "LoginToken", "StaffPassword", "WebAudit", "WebSession",
]
