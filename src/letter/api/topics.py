"""``/v1/projects/{slug}/topics`` and a contact's topic choices."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Response

from letter.api.deps import ProjectDep, SessionDep
from letter.api.pagination import PageDep
from letter.audience import topics
from letter.audience.schemas import (
    ContactTopicOut,
    SubscriptionIn,
    TopicCreate,
    TopicOut,
    TopicUpdate,
)
from letter.contacts.service import get_contact
from letter.schemas import Page, page_of

router = APIRouter(prefix="/v1/projects/{slug}", tags=["topics"])

ContactKey = Annotated[str, Path(min_length=1, max_length=320,
                                 description="The contact's external id, else its email.")]


@router.get("/topics", response_model=Page[TopicOut])
def list_topics(project: ProjectDep, session: SessionDep, page: PageDep) -> Page[TopicOut]:
    return page_of(topics.list_topics(session, project.id, page), TopicOut.model_validate)


@router.post("/topics", status_code=201, response_model=TopicOut)
def create_topic(body: TopicCreate, project: ProjectDep, session: SessionDep) -> TopicOut:
    topic = topics.create_topic(session, project.id, name=body.name,
                                description=body.description, default=body.default,
                                visibility=body.visibility)
    return TopicOut.model_validate(topic)


@router.get("/topics/{topic_id}", response_model=TopicOut)
def get_topic(topic_id: uuid.UUID, project: ProjectDep, session: SessionDep) -> TopicOut:
    return TopicOut.model_validate(topics.get_topic(session, project.id, topic_id))


@router.patch("/topics/{topic_id}", response_model=TopicOut)
def update_topic(topic_id: uuid.UUID, body: TopicUpdate, project: ProjectDep,
                 session: SessionDep) -> TopicOut:
    topic = topics.update_topic(session, project.id, topic_id,
                                body.model_dump(exclude_unset=True))
    return TopicOut.model_validate(topic)


@router.delete("/topics/{topic_id}", status_code=204)
def delete_topic(topic_id: uuid.UUID, project: ProjectDep, session: SessionDep) -> Response:
    """Refused (409) while a broadcast that is not sent or cancelled names the topic."""
    topics.delete_topic(session, project.id, topic_id)
    return Response(status_code=204)


@router.put("/contacts/{contact:path}/topics/{topic_id}", response_model=ContactTopicOut)
def set_subscription(contact: ContactKey, topic_id: uuid.UUID, body: SubscriptionIn,
                     project: ProjectDep, session: SessionDep) -> ContactTopicOut:
    """Record a contact's choice for a topic (the contact by external id, else email)."""
    found = get_contact(session, project.id, contact)
    return ContactTopicOut.model_validate(
        topics.set_choice(session, project.id, found, topic_id, body.subscribed))
