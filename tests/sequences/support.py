"""Set-up through the services (for tests with real commits, processes and
benchmarks): a project, a published sequence, contacts enrolled directly."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import insert

from letter.auth import service as auth_service
from letter.clock import utcnow
from letter.contacts.models import Contact
from letter.db.engine import Database
from letter.ids import uuid7
from letter.projects import service as projects
from letter.sequences import service
from letter.sequences.flows import flow_for
from letter.sequences.models import Sequence
from letter.sequences.triggers import enrol


def published(db: Database, graph: dict[str, Any], trigger: dict[str, Any],
              name: str = "Acme") -> tuple[uuid.UUID, uuid.UUID]:
    """A new workspace and project with ``graph`` published; (project, sequence) ids."""
    with db.session() as session:
        _, ws, _ = auth_service.bootstrap(session, email=f"{uuid7().hex[:8]}@acme.test",
                                          workspace_name=name)
        project = projects.create_project(session, ws.id, name, "UTC")
        sequence = service.create_sequence(session, project.id, "Flow")
        service.save_draft(session, sequence, graph, trigger, 0)
        service.publish(session, sequence, None)
        return project.id, sequence.id


def enrol_contacts(db: Database, project_id: uuid.UUID, sequence_id: uuid.UUID, count: int,
                   **traits: Any) -> list[uuid.UUID]:
    """``count`` new contacts, each enrolled (due now)."""
    now = utcnow()
    rows = [{"id": uuid7(), "project_id": project_id, "external_id": f"c{i}",
             "email": f"c{i}@example.com", "traits": dict(traits), "created_at": now,
             "updated_at": now} for i in range(count)]
    with db.session() as session:
        session.execute(insert(Contact), rows)
        sequence = session.get(Sequence, sequence_id)
        assert sequence is not None and sequence.published_version_id is not None
        flow = flow_for(session, sequence.published_version_id)
        for row in rows:
            enrol(session, project_id, flow, row["id"], {}, now)
    return [r["id"] for r in rows]
