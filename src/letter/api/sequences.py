"""``/v1/projects/{slug}/sequences``: drafts, publishing, versions, previews,
test emails, activity and removing a contact from a flow."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from letter.api.deps import PrincipalDep, ProjectDep, RuntimeDep, SessionDep
from letter.api.pagination import PageDep
from letter.schemas import Page, page_of
from letter.sequences import service
from letter.sequences.activity import activity
from letter.sequences.content import preview, send_test
from letter.sequences.schemas import (
    ActivityOut,
    DraftIn,
    DraftOut,
    EmailNodeIn,
    EnrollmentOut,
    PreviewOut,
    PublishOut,
    SequenceCreate,
    SequenceDetail,
    SequenceOut,
    SequenceUpdate,
    TestEmailOut,
    ValidateOut,
    VersionOut,
)

router = APIRouter(prefix="/v1/projects/{slug}/sequences", tags=["sequences"])


@router.get("", response_model=Page[SequenceOut])
def list_sequences(project: ProjectDep, session: SessionDep, page: PageDep) -> Page[SequenceOut]:
    return page_of(service.list_sequences(session, project.id, page),
                   SequenceOut.model_validate)


@router.post("", status_code=201, response_model=SequenceOut)
def create_sequence(body: SequenceCreate, project: ProjectDep, session: SessionDep
                    ) -> SequenceOut:
    return SequenceOut.model_validate(service.create_sequence(session, project.id, body.name))


@router.get("/{sequence_id}", response_model=SequenceDetail)
def get_sequence(sequence_id: uuid.UUID, project: ProjectDep, session: SessionDep
                 ) -> SequenceDetail:
    return SequenceDetail.model_validate(service.get_sequence(session, project.id, sequence_id))


@router.patch("/{sequence_id}", response_model=SequenceOut)
def update_sequence(sequence_id: uuid.UUID, body: SequenceUpdate, project: ProjectDep,
                    session: SessionDep) -> SequenceOut:
    sequence = service.get_sequence(session, project.id, sequence_id)
    return SequenceOut.model_validate(
        service.update_sequence(session, sequence, body.name, body.status))


@router.delete("/{sequence_id}", status_code=204)
def delete_sequence(sequence_id: uuid.UUID, project: ProjectDep, session: SessionDep
                    ) -> Response:
    service.delete_sequence(session, service.get_sequence(session, project.id, sequence_id))
    return Response(status_code=204)


@router.put("/{sequence_id}/draft", response_model=DraftOut)
def save_draft(sequence_id: uuid.UUID, body: DraftIn, project: ProjectDep,
               session: SessionDep) -> DraftOut:
    sequence = service.get_sequence(session, project.id, sequence_id)
    sequence = service.save_draft(session, sequence, body.graph, body.trigger,
                                  body.expected_revision)
    return DraftOut(revision=sequence.draft_revision, updated_at=sequence.updated_at)


@router.post("/{sequence_id}/publish", status_code=201, response_model=PublishOut)
def publish(sequence_id: uuid.UUID, project: ProjectDep, session: SessionDep,
            principal: PrincipalDep) -> PublishOut:
    sequence = service.get_sequence(session, project.id, sequence_id)
    version = service.publish(session, sequence, principal.user.id)
    return PublishOut(version_number=version.version_number)


@router.get("/{sequence_id}/validate", response_model=ValidateOut)
def validate(sequence_id: uuid.UUID, project: ProjectDep, session: SessionDep) -> ValidateOut:
    errors = service.validate(session, service.get_sequence(session, project.id, sequence_id))
    return ValidateOut.model_validate({"ok": not errors, "errors": errors})


@router.post("/{sequence_id}/preview", response_model=PreviewOut)
def preview_email(sequence_id: uuid.UUID, body: EmailNodeIn, project: ProjectDep,
                  session: SessionDep, principal: PrincipalDep) -> PreviewOut:
    sequence = service.get_sequence(session, project.id, sequence_id)
    rendered = preview(session, project, sequence, body.node_id, body.config,
                       body.recipient_email or principal.user.email)
    return PreviewOut(html=rendered.html, text=rendered.text)


@router.post("/{sequence_id}/test-email", response_model=TestEmailOut)
def test_email(sequence_id: uuid.UUID, body: EmailNodeIn, project: ProjectDep,
               session: SessionDep, principal: PrincipalDep, runtime: RuntimeDep
               ) -> TestEmailOut:
    sequence = service.get_sequence(session, project.id, sequence_id)
    message = send_test(session, project, sequence, body.node_id, body.config,
                        body.recipient_email or principal.user.email,
                        runtime.settings.sending_domain)
    return TestEmailOut(message_id=str(message.id), to=message.to_email)


@router.get("/{sequence_id}/activity", response_model=ActivityOut)
def get_activity(sequence_id: uuid.UUID, project: ProjectDep, session: SessionDep
                 ) -> ActivityOut:
    sequence = service.get_sequence(session, project.id, sequence_id)
    return ActivityOut.model_validate(activity(session, sequence))


@router.get("/{sequence_id}/versions", response_model=Page[VersionOut])
def list_versions(sequence_id: uuid.UUID, project: ProjectDep, session: SessionDep,
                  page: PageDep) -> Page[VersionOut]:
    sequence = service.get_sequence(session, project.id, sequence_id)
    return page_of(service.list_versions(session, sequence, page), VersionOut.model_validate)


@router.post("/{sequence_id}/enrollments/{external_id}/exit", response_model=EnrollmentOut)
def exit_enrollment(sequence_id: uuid.UUID, external_id: str, project: ProjectDep,
                    session: SessionDep) -> EnrollmentOut:
    sequence = service.get_sequence(session, project.id, sequence_id)
    return EnrollmentOut.model_validate(service.exit_contact(session, sequence, external_id))
