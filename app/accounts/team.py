"""The team of a store: who may change whom, and what a role change or deactivation ends."""

from __future__ import annotations

from redis.asyncio import Redis

from app.accounts import sessions
from app.accounts.models import Agent, Role
from app.accounts.services import AccountError
from app.core.errors import ApiError

ROLES = frozenset(r.value for r in Role)


def check_invite(actor: Agent, role: str) -> Role:
    """Only an owner makes another owner; 403 otherwise (also for a role that does not exist)."""
    if role not in ROLES or (role == Role.OWNER and actor.role != Role.OWNER):
        raise ApiError(403, "forbidden", "only an owner can invite another owner")
    return Role(role)


async def change_member(
    redis: Redis, store_id: int, actor: Agent, member_id: int, action: str, role: str | None
) -> None:
    """Deactivate, reactivate or change the role of a teammate of `actor`'s store.

    Deactivating and a new role end the member's sessions at once, so what they may see changes
    now, not when their cookie expires. Nobody changes their own account (`AccountError`)."""
    member = await Agent.get_or_none(id=member_id, store_id=store_id)
    if member is None:
        raise ApiError(404, "not_found", "no such team member in this store")
    if member.id == actor.id:
        raise AccountError("You cannot change or deactivate your own account.")
    if member.role == Role.OWNER and actor.role != Role.OWNER:
        raise ApiError(403, "forbidden", "only an owner can change an owner")
    if action == "deactivate":
        await Agent.filter(id=member.id).update(active=False, invite_digest=None)
        await sessions.destroy_all(redis, member.id)
    elif action == "activate":
        await Agent.filter(id=member.id).update(active=True)
    elif action == "role" and role in ROLES:
        if role == Role.OWNER and actor.role != Role.OWNER:
            raise ApiError(403, "forbidden", "only an owner can make someone an owner")
        await Agent.filter(id=member.id).update(role=Role(role))
        await sessions.destroy_all(redis, member.id)
    else:
        raise ApiError(400, "invalid_action", "action is role, deactivate or activate")
