"""Who may do what: the one table of actions and the least role each needs.

The API's dependencies and the dashboard's handlers both ask ``authorize``
before they call a service, so a rule about roles is written here only.

>>> authorize("member", Action.USE_PROJECT)
>>> allows("member", Action.MANAGE_TEAM)
False
"""

from __future__ import annotations

from enum import StrEnum

from letter.auth.roles import Role, require

__all__ = ["NEEDED", "Action", "allows", "authorize"]


class Action(StrEnum):
    USE_PROJECT = "use a project's contacts, segments, sequences, broadcasts and templates"
    RENAME_PROJECT = "rename a project or change its time zone"
    CREATE_PROJECT = "create a project"
    DELETE_PROJECT = "delete a project"
    MANAGE_PROJECT_TOKENS = "mint or revoke project tokens"
    MANAGE_SENDING = "manage domains, sender identity, sending mode and the daily cap"
    MANAGE_TEAM = "manage members and invitations"
    MANAGE_OWN_TOKENS = "mint or revoke one's own API keys"


NEEDED: dict[Action, Role] = {
    Action.USE_PROJECT: Role.MEMBER,
    Action.RENAME_PROJECT: Role.MEMBER,
    Action.CREATE_PROJECT: Role.ADMIN,
    Action.DELETE_PROJECT: Role.ADMIN,
    Action.MANAGE_PROJECT_TOKENS: Role.ADMIN,
    Action.MANAGE_SENDING: Role.ADMIN,
    Action.MANAGE_TEAM: Role.ADMIN,
    Action.MANAGE_OWN_TOKENS: Role.MEMBER,
}


def allows(role: str, action: Action) -> bool:
    return Role(role).at_least(NEEDED[action])


def authorize(role: str, action: Action) -> None:
    """Raise ``Forbidden`` unless ``role`` may do ``action``."""
    require(role, NEEDED[action])
