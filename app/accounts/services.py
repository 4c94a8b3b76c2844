"""Agent lifecycle: create with an invitation, accept it, authenticate."""

from __future__ import annotations

from dataclasses import dataclass

from tortoise.exceptions import IntegrityError

from app.accounts.models import Agent, Role
from app.accounts.passwords import hash_password, needs_rehash, password_problem, verify_password
from app.core.security import new_token, token_digest
from app.core.timeutil import utcnow
from app.stores.models import Store


class AccountError(ValueError):
    """A message fit to show the person at the form or terminal."""


@dataclass(frozen=True, slots=True)
class Invitation:
    agent: Agent
    token: str | None


def normalize_email(email: str) -> str:
    """The one spelling of an account's email: stored, looked up and rate-limited under it."""
    return email.strip().lower()


async def create_agent(
    store: Store, email: str, role: Role, name: str | None = None, password: str | None = None
) -> Invitation:
    email = normalize_email(email)
    if "@" not in email or len(email) > 320:
        raise AccountError(f"invalid email {email!r}")
    if password is not None and (problem := password_problem(password)):
        raise AccountError(f"password: {problem}")
    token = None if password else new_token("inv", 24)
    try:
        agent = await Agent.create(
            store=store,
            email=email,
            name=name or email.split("@")[0],
            role=role,
            password_hash=hash_password(password) if password else None,
            invite_digest=token_digest(token) if token else None,
            invited_at=utcnow() if token else None,
        )
    except IntegrityError:
        raise AccountError(f"an account for {email} already exists") from None
    return Invitation(agent, token)


async def accept_invitation(token: str, password: str, name: str | None = None) -> Agent:
    agent = await Agent.get_or_none(invite_digest=token_digest(token), active=True)
    if agent is None:
        raise AccountError("this invitation link is invalid or was already used")
    if problem := password_problem(password):
        raise AccountError(f"password: {problem}")
    won = await Agent.filter(id=agent.id, invite_digest=agent.invite_digest).update(
        password_hash=hash_password(password), invite_digest=None, name=name or agent.name
    )
    if not won:
        raise AccountError("this invitation link was already used")
    return await Agent.get(id=agent.id)


async def authenticate(email: str, password: str) -> Agent | None:
    agent = await Agent.get_or_none(email=normalize_email(email), active=True)
    if not verify_password(agent.password_hash if agent else None, password) or agent is None:
        return None
    changes: dict[str, object] = {"last_login_at": utcnow()}
    if agent.password_hash and needs_rehash(agent.password_hash):
        changes["password_hash"] = hash_password(password)
    await Agent.filter(id=agent.id).update(**changes)
    return agent


async def platform_owner(store: Store, email: str | None = None) -> Agent:
    """The account a merchant gets by installing from a platform (Shopify): no password, no form.

    Shopify's signed App URL, OAuth callback or session token already proved who they are; an
    owner of the store exists afterwards either way (the first one created wins a race).
    """
    owner = await Agent.filter(store=store, role=Role.OWNER, active=True).order_by("id").first()
    if owner is not None:
        return owner
    address = normalize_email(email or f"owner@{store.domain}")
    if await Agent.exists(email=address):
        address = f"owner+{store.id}@{store.domain}"
    try:
        return await Agent.create(
            store=store, email=address, name=f"{store.name} owner", role=Role.OWNER
        )
    except IntegrityError:
        winner = await Agent.filter(store=store, role=Role.OWNER).order_by("id").first()
        if winner is None:  # the clash was not a concurrent install creating the owner
            raise
        return winner
