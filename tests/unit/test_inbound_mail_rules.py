"""Pure parts of inbound email: reply addresses, auto-reply and DSN rules, new text, sanitizing."""

from __future__ import annotations

import dataclasses
from email.message import EmailMessage

import pytest

from app.config import Settings, load_settings, use_settings
from app.messaging import addresses
from inbox import mail


@pytest.fixture
def mail_config(tmp_path) -> Settings:
    settings = load_settings(
        {
            "FOLLOWUP_DATA_DIR": str(tmp_path),
            "FOLLOWUP_SECRET_KEY": "k" * 40,
            "FOLLOWUP_INBOUND_EMAIL_DOMAIN": "Reply.Shop.Example",
        }
    )
    from app import config

    previous = config._override
    use_settings(settings)
    yield settings
    use_settings(previous)


def test_reply_addresses_round_trip_and_refuse_anything_edited(mail_config):
    address = addresses.reply_address(mail_config, 12, 345)
    assert address.startswith("reply+12-345-") and address.endswith("@reply.shop.example")
    assert addresses.thread_of(mail_config, address) == addresses.Thread(12, 345)
    assert addresses.thread_of(mail_config, address.upper()) == addresses.Thread(12, 345)
    assert addresses.thread_of(mail_config, f"<{address}>") == addresses.Thread(12, 345)
    local, _, domain = address.partition("@")
    signature = local.rsplit("-", 1)[1]
    for forged in (
        f"reply+12-346-{signature}@{domain}",  # another shopper, same signature
        f"reply+13-345-{signature}@{domain}",  # another store
        f"reply+012-345-{signature}@{domain}",  # leading zero: not what we made
        f"{local}@other.example",  # another domain
        f"reply+12-345-{'a' * 16}@{domain}",
        f"{local[:-1]}@{domain}",
        "jane@example.com",
    ):
        assert addresses.thread_of(mail_config, forged) is None, forged
    assert addresses.first_thread(mail_config, "a@b.c, Shop <" + address + ">", "") == (
        addresses.Thread(12, 345)
    )


def test_a_rotated_key_still_accepts_old_reply_addresses(mail_config):
    old = addresses.reply_address(mail_config, 1, 2)
    rotated = dataclasses.replace(
        mail_config,
        server=dataclasses.replace(
            mail_config.server, secret_key="n" * 40, secret_key_fallbacks=("k" * 40,)
        ),
    )
    use_settings(rotated)
    assert addresses.thread_of(rotated, old) == addresses.Thread(1, 2)
    use_settings(
        dataclasses.replace(
            rotated, server=dataclasses.replace(rotated.server, secret_key_fallbacks=())
        )
    )
    assert addresses.thread_of(rotated, old) is None


def test_no_inbound_domain_means_no_reply_addresses(tmp_path):
    settings = load_settings({"FOLLOWUP_DATA_DIR": str(tmp_path)})
    assert not addresses.enabled(settings)
    assert load_settings({"FOLLOWUP_DATA_DIR": str(tmp_path)}, dev_mode=True).inbound_mail.domain
    with pytest.raises(Exception, match="not a domain name"):
        load_settings({"FOLLOWUP_DATA_DIR": str(tmp_path), "FOLLOWUP_INBOUND_EMAIL_DOMAIN": "a b"})


def _headers(**values: str) -> EmailMessage:
    msg = EmailMessage()
    for name, value in values.items():
        msg[name.replace("_", "-")] = value
    return msg


@pytest.mark.parametrize(
    ("headers", "envelope_from", "auto"),
    [
        ({"Auto_Submitted": "auto-replied"}, None, True),
        ({"Auto_Submitted": "auto-generated"}, None, True),
        ({"Auto_Submitted": "no"}, None, False),
        ({"X_Autoreply": "yes"}, None, True),
        ({"X_Autorespond": "1"}, None, True),
        ({"Precedence": "bulk"}, None, True),
        ({"Precedence": "first-class"}, None, False),
        ({"Subject": "Automatic reply: Your cart"}, None, True),
        ({"Subject": "Out of Office"}, None, True),
        ({"Subject": "Re: out of office hours delivery?"}, None, False),
        ({"Subject": "Re: Your cart"}, "", True),  # null envelope sender
        ({"Subject": "Re: Your cart"}, "jane@example.com", False),
    ],
)
def test_auto_replies_are_recognised(headers, envelope_from, auto):
    assert mail.is_auto_reply(_headers(**headers), envelope_from) is auto


def test_new_text_cuts_quotes_and_html_only_mail_becomes_text():
    quoted = "Yes please!\n\nOn Tue, Jan 13, 2026 at 9:00 AM Shop <s@x.y> wrote:\n> old\n"
    assert mail.new_text(quoted, None) == "Yes please!"
    assert mail.new_text("", "<p>Hello &amp; thanks<br>Jane</p>") == "Hello & thanks\nJane"
    assert mail.new_text("", None) == ""


def test_html_is_sanitized_without_scripts_or_remote_images():
    clean = mail.sanitize_html(
        '<p onclick="x()">Hi <b>there</b><script>alert(1)</script>'
        '<img src="https://t.example/p.gif"><a href="javascript:alert(1)">x</a></p>'
    )
    assert "<b>there</b>" in clean
    for bad in ("<script", "onclick", "<img", "javascript:"):
        assert bad not in clean


def test_attachments_are_metadata_only_and_bounded():
    msg = EmailMessage()
    msg["Subject"], msg["Message-ID"] = "files", "<f@x>"
    msg.set_content("see attached")
    for n in range(4):
        msg.add_attachment(
            b"x" * (n + 1), maintype="application", subtype="pdf", filename=f"{n}.pdf"
        )
    parsed = mail.from_mime(msg.as_bytes(), provider="smtp", max_attachments=3)
    assert [a.as_dict() for a in parsed.attachments] == [
        {"filename": f"{n}.pdf", "content_type": "application/pdf", "size": n + 1} for n in range(3)
    ]
    assert parsed.attachments_dropped == 1 and parsed.text == "see attached"
