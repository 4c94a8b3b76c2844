"""Pick the provider for each channel from settings: real credentials win, dev falls back to the outbox."""

from __future__ import annotations

import uuid

from app.config import ConfigError, Settings
from app.messaging.models import DeliveryStatus
from app.messaging.segments import count_segments
from app.messaging.senders import (
    EmailSender,
    OutboundEmail,
    OutboundSms,
    SendResult,
    SmsSender,
)


class DevOutboxSender:
    """`followup dev` without credentials: nothing leaves the machine, messages show at /dev/outbox."""

    name = "outbox"

    async def send_sms(self, message: OutboundSms) -> SendResult:
        return SendResult(
            self.name,
            f"dev-{uuid.uuid4().hex}",
            DeliveryStatus.DELIVERED,
            count_segments(message.body).segments,
        )

    async def send_email(self, message: OutboundEmail) -> SendResult:
        return SendResult(self.name, f"dev-{uuid.uuid4().hex}", DeliveryStatus.DELIVERED)


def sms_sender(settings: Settings) -> SmsSender:
    """Twilio when its credentials are set, else (dev only) the local outbox."""
    if settings.twilio.account_sid and settings.twilio.auth_token:
        from app.integrations.twilio.sms import TwilioSmsSender

        return TwilioSmsSender(settings.twilio, settings.recovery.provider_timeout_seconds)
    if settings.dev_mode:
        return DevOutboxSender()
    raise ConfigError(
        "no SMS provider: set FOLLOWUP_TWILIO_ACCOUNT_SID and FOLLOWUP_TWILIO_AUTH_TOKEN"
    )


def email_sender(settings: Settings) -> EmailSender:
    """SendGrid when its key is set, else SMTP, else (dev only) the local outbox."""
    timeout = settings.recovery.provider_timeout_seconds
    if settings.email.sendgrid_api_key:
        from app.integrations.sendgrid.mail import SendGridEmailSender

        return SendGridEmailSender(
            settings.email.sendgrid_api_key, settings.email.sendgrid_base_url, timeout
        )
    if settings.email.smtp_url:
        from app.integrations.smtp.sender import SmtpEmailSender

        return SmtpEmailSender(settings.email.smtp_url, timeout)
    if settings.dev_mode:
        return DevOutboxSender()
    raise ConfigError("no email provider: set FOLLOWUP_SMTP_URL or FOLLOWUP_SENDGRID_API_KEY")
