"""Contact upsert: one person per store, found by email then phone, consent only ever granted with proof."""

from __future__ import annotations

from contextlib import nullcontext, suppress
from dataclasses import dataclass
from datetime import datetime

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from app.checkouts import history
from app.checkouts.models import ConsentEvent, Contact, ContactTag
from app.checkouts.schemas import ContactInput
from app.core import events
from app.core.phones import parse_phone, region_of_locale
from app.core.scheduling import dispatch_soon
from app.core.timeutil import utcnow
from app.stores.models import Store


@dataclass(frozen=True, slots=True)
class ContactResult:
    contact: Contact | None
    email: str | None
    phone: str | None
    phone_problem: str | None


def _email(value: str | None) -> str | None:
    if not value or "@" not in value:
        return None
    return value.strip().lower()[:320]


async def upsert_contact(
    store: Store, data: ContactInput, now: datetime | None = None
) -> ContactResult:
    now = now or utcnow()
    email = _email(data.email)
    parsed = parse_phone(data.phone, data.country or region_of_locale(store.locale))
    phone = parsed.e164
    if not (email or phone):
        return ContactResult(None, None, None, parsed.problem)
    contact = await _find(store, email, phone)
    if contact is None:
        try:
            contact = await Contact.create(store=store, email=email, phone=phone)
        except IntegrityError:  # a concurrent event created the same person first
            contact = await _find(store, email, phone)
            if contact is None:
                raise
    await _merge(store, contact, data, email, phone, parsed.problem, now)
    return ContactResult(contact, email, phone, parsed.problem)


async def _find(store: Store, email: str | None, phone: str | None) -> Contact | None:
    if email:
        found = await Contact.get_or_none(store=store, email=email)
        if found:
            return found
    if phone:
        return await Contact.get_or_none(store=store, phone=phone)
    return None


async def _merge(
    store: Store,
    contact: Contact,
    data: ContactInput,
    email: str | None,
    phone: str | None,
    phone_problem: str | None,
    now: datetime,
) -> None:
    changed: set[str] = set()

    def fill(name: str, value: object) -> None:
        if value and getattr(contact, name) != value:
            setattr(contact, name, value)
            changed.add(name)

    if email and not contact.email:
        fill("email", email)
    if phone and phone != contact.phone and not await Contact.exists(store=store, phone=phone):
        fill("phone", phone)
    if phone_problem and not contact.phone:
        fill("phone_invalid_reason", phone_problem)
    for name in (
        "first_name",
        "last_name",
        "locale",
        "timezone",
        "country",
        "region",
        "external_id",
        "birthday",
    ):
        fill(name, getattr(data, name))
    if data.tags is not None and list(contact.tags or []) != data.tags:
        contact.tags = data.tags  # the source's whole list: a tag removed there goes here too
        changed.add("tags")
    consent_fields, consent_log = _consent_changes(contact, data, now)
    for field_name, value in consent_fields.items():
        setattr(contact, field_name, value)
        changed.add(field_name)
    # A consent change and its log entry commit together: a crash between them would leave a
    # consent with no record of how it was given, and the replayed event would see nothing to log.
    announced: list[int] = []
    async with in_transaction() if consent_log else nullcontext():
        if changed:
            try:
                async with in_transaction():  # a savepoint inside the consent's transaction
                    await contact.save(update_fields=[*changed, "updated_at"])
            except IntegrityError:
                # Another contact claimed this phone or email meanwhile; keep ours without it.
                await contact.refresh_from_db()
        announced = await _log_consent(store, contact, data, consent_log, now)
    if announced:
        await dispatch_soon(*announced)
    if "tags" in changed:
        await sync_tag_rows(contact)
    # The next birthday's due time moves with these; a consent taken back ends `subscribed`
    # (a grant is refreshed by the `contact.opted_in` listener).
    if changed & {"birthday", "timezone"} or any(a == "opt_out" for _, a in consent_log):
        await history.refresh(contact.id, now)


async def _log_consent(
    store: Store,
    contact: Contact,
    data: ContactInput,
    consent_log: list[tuple[str, str]],
    now: datetime,
) -> list[int]:
    """Each change in the consent log, in the caller's transaction; a grant is also recorded as
    `contact.opted_in` (the history's subscription state and the welcome flows react to it), whose
    ids the caller dispatches once that transaction has committed."""
    announced = []
    for channel, action in consent_log:
        async with in_transaction() as conn:
            await ConsentEvent.create(
                using_db=conn,
                store=store,
                contact=contact,
                channel=channel,
                action=action,
                source=data.consent_source,
                actor="shopper",
                occurred_at=now,
                message=f"{channel} consent {action.replace('_', ' ')} at checkout",
            )
            if action == "opt_in":
                announced.append(
                    await events.record(
                        events.CONTACT_OPTED_IN,
                        store.id,
                        contact.id,
                        {"channel": channel, "source": data.consent_source},
                        conn,
                        qualifier=f"{channel}:{int(now.timestamp())}",
                    )
                )
    return announced


async def sync_tag_rows(contact: Contact) -> None:
    """`contact_tag` follows `Contact.tags`: the rows segment counts search by (store, tag)."""
    wanted = set(contact.tags or [])
    have = set(await ContactTag.filter(contact_id=contact.id).values_list("tag", flat=True))
    if have - wanted:
        await ContactTag.filter(contact_id=contact.id, tag__in=list(have - wanted)).delete()
    for tag in sorted(wanted - have):
        with suppress(IntegrityError):  # a concurrent event added the same tag
            await ContactTag.create(store_id=contact.store_id, contact_id=contact.id, tag=tag)


def _consent_changes(
    contact: Contact, data: ContactInput, now: datetime
) -> tuple[dict[str, object], list[tuple[str, str]]]:
    """Grants need an explicit yes; a platform's explicit unsubscribe is an opt-out. Silence changes nothing."""
    fields: dict[str, object] = {}
    log: list[tuple[str, str]] = []
    at = data.consent_at or now
    if data.email_consent and not contact.email_consent:
        fields |= {
            "email_consent": True,
            "email_consent_source": data.consent_source,
            "email_consent_at": at,
        }
        log.append(("email", "opt_in"))
    if data.sms_consent and not contact.sms_consent and not data.sms_opted_out:
        fields |= {
            "sms_consent": True,
            "sms_consent_source": data.consent_source,
            "sms_consent_at": at,
        }
        log.append(("sms", "opt_in"))
    if data.sms_opted_out and contact.sms_opted_out_at is None:
        fields |= {"sms_consent": False, "sms_opted_out_at": now}
        log.append(("sms", "opt_out"))
    # Marketing consent withdrawn at the platform: no more marketing, but no `*_opted_out_at`
    # either (that is an unsubscribe from everything, payment reminders included).
    for channel in ("email", "sms"):
        name = f"{channel}_consent"
        if channel in data.withdrawn and getattr(contact, name) and name not in fields:
            fields[name] = False
            log.append((channel, "opt_out"))
    return fields, log
