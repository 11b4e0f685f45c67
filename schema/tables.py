"""Every table of the store, imported in one place so migrations and tests see them all."""

from core.account_requests import AccountRequest
from core.applications import Application, ApplicationVersion, FamilyKey
from core.audit import AuditEvent, AuditHead
from core.broadcasts import Broadcast, BroadcastRecipient
from core.callback_requests import CallbackRequest
from core.calls import Call
from core.corrections import CorrectionRequest
from core.covid_cases import CaseEvent, CaseReport, QuarantineCentre
from core.db import Base
from core.decisions import Decision
from core.donations import Donation, DonationAllocation
from core.flags import ApplicationFlag
from core.geography import District, Governorate, Locality
from core.home_visits import SampleVisit, VisitSample
from core.inbox import PendingSms
from core.link_batches import BatchRow, LinkBatch
from core.links import Link
from core.messages import Message
from core.needs import NeedsReminder, NeedsReport
from core.opt_outs import SmsOptOut
from core.programme import Programme
from core.reset_tokens import PasswordReset
from core.second_factor import RecoveryCode, SecondFactor
from core.status_codes import StatusCode
from core.throttle import ThrottleCounter, ThrottleHit
from core.tickets import Ticket
from core.users import StaffUser
from core.webhook_replies import WebhookReply
from distribution.approvals import ListApproval
from distribution.assists import AssistAssignment, HandoverAssist
from distribution.declarations import Declaration
from distribution.disputes import DisputeDecision
from distribution.handovers import Handover, Voucher
from distribution.revocations import VoucherRevocation
from scoring.lists import BeneficiaryList, ListEntry
from scoring.scores import FormulaRecord, Score

__all__ = [
    "AccountRequest",
    "Application",
    "ApplicationFlag",
    "ApplicationVersion",
    "AssistAssignment",
    "AuditEvent",
    "AuditHead",
    "Base",
    "BatchRow",
    "BeneficiaryList",
    "Broadcast",
    "BroadcastRecipient",
    "Call",
    "CallbackRequest",
    "CaseEvent",
    "CaseReport",
    "CorrectionRequest",
    "Decision",
    "Declaration",
    "DisputeDecision",
    "District",
    "Donation",
    "DonationAllocation",
    "FamilyKey",
    "FormulaRecord",
    "Governorate",
    "Handover",
    "HandoverAssist",
    "Link",
    "LinkBatch",
    "ListApproval",
    "ListEntry",
    "Locality",
    "Message",
    "NeedsReminder",
    "NeedsReport",
    "PasswordReset",
    "PendingSms",
    "Programme",
    "QuarantineCentre",
    "RecoveryCode",
    "SampleVisit",
    "Score",
    "SecondFactor",
    "SmsOptOut",
    "StaffUser",
    "StatusCode",
    "ThrottleCounter",
    "ThrottleHit",
    "Ticket",
    "VisitSample",
    "Voucher",
    "VoucherRevocation",
    "WebhookReply",
]
