"""Every table, imported in one place so the metadata is complete.

Alembic and the schema tests read ``Base.metadata`` from here.
"""

from letter.audience.models import ContactList, ListMember, Topic, TopicSubscription
from letter.auth.models import (
    DeviceAuthorization,
    Invitation,
    Membership,
    PersonalAccessToken,
    User,
    WebSession,
    Workspace,
)
from letter.broadcasts.models import Broadcast
from letter.contacts.models import Account, Contact, Event, MessageReceipt
from letter.db.base import Base
from letter.delivery.models import Message, MessageCounter, MessageEvent
from letter.domains.models import Domain
from letter.idempotency.models import IdempotencyRecord
from letter.imports.models import ExportJob, ImportJob, ImportRowError
from letter.jobs.models import Job
from letter.projects.models import Project, ProjectKey
from letter.segments.models import Segment
from letter.sequences.models import (
    Enrollment,
    EnrollmentMessage,
    Sequence,
    SequenceIndexVersion,
    SequenceVersion,
)
from letter.templates.models import Template

__all__ = [
    "Account",
    "Base",
    "Broadcast",
    "Contact",
    "ContactList",
    "DeviceAuthorization",
    "Domain",
    "Enrollment",
    "EnrollmentMessage",
    "Event",
    "ExportJob",
    "IdempotencyRecord",
    "ImportJob",
    "ImportRowError",
    "Invitation",
    "Job",
    "ListMember",
    "Membership",
    "Message",
    "MessageCounter",
    "MessageEvent",
    "MessageReceipt",
    "PersonalAccessToken",
    "Project",
    "ProjectKey",
    "Segment",
    "Sequence",
    "SequenceIndexVersion",
    "SequenceVersion",
    "Template",
    "Topic",
    "TopicSubscription",
    "User",
    "WebSession",
    "Workspace",
]
