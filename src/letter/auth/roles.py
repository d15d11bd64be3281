"""Workspace roles and their order: member < admin < owner."""

from __future__ import annotations

from enum import StrEnum

from letter.errors import Forbidden

__all__ = ["Role", "require"]


class Role(StrEnum):
    MEMBER = "member"
    ADMIN = "admin"
    OWNER = "owner"

    @property
    def rank(self) -> int:
        return _RANK[self]

    def at_least(self, needed: Role) -> bool:
        return self.rank >= needed.rank


_RANK = {Role.MEMBER: 0, Role.ADMIN: 1, Role.OWNER: 2}


def require(role: str, needed: Role) -> None:
    if not Role(role).at_least(needed):
        raise Forbidden(f"This action needs the {needed.value} role; your token has {role}.")
