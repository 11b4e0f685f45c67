"""Every table of the store, imported in one place so migrations and tests see them all."""

from core.applications import Application, FamilyKey
from core.audit import AuditEvent, AuditHead
from core.calls import Call
from core.db import Base
from core.geography import District, Governorate, Locality
from core.links import Link
from core.messages import Message
from core.programme import Programme
from core.throttle import ThrottleHit
from core.users import StaffUser

__all__ = [
    "Application",
    "AuditEvent",
    "AuditHead",
    "Base",
    "Call",
    "District",
    "FamilyKey",
    "Governorate",
    "Link",
    "Locality",
    "Message",
    "Programme",
    "StaffUser",
    "ThrottleHit",
]
