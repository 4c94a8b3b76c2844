"""Signatures, encryption at rest and opaque tokens: constant-time and in one place."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from app.config import get_settings


def hmac_sha256_base64(secret: str | bytes, body: bytes) -> str:
    key = secret.encode() if isinstance(secret, str) else secret
    return base64.b64encode(hmac.new(key, body, hashlib.sha256).digest()).decode()


def verify_base64_hmac(secret: str | bytes, body: bytes, signature: str | None) -> bool:
    """Check a base64 HMAC-SHA256 header (Shopify, WooCommerce) in constant time."""
    if not signature or not secret:
        return False
    expected = hmac_sha256_base64(secret, body)
    return hmac.compare_digest(expected.encode(), signature.strip().encode())


def new_token(prefix: str, nbytes: int = 24) -> str:
    return f"{prefix}_{secrets.token_urlsafe(nbytes)}"


def token_digest(token: str) -> str:
    """API tokens are stored as this digest only, so a database leak does not leak access."""
    return hashlib.sha256(token.encode()).hexdigest()


def _fernet_key(secret: str) -> bytes:
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"followup-at-rest", info=b"fernet-v1"
    ).derive(secret.encode())
    return base64.urlsafe_b64encode(derived)


@lru_cache(maxsize=8)
def _cipher(secret: str, fallbacks: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(_fernet_key(k)) for k in (secret, *fallbacks)])


def cipher() -> MultiFernet:
    """Encrypts with the current key; decrypts with it or any fallback, so keys can rotate."""
    server = get_settings().server
    return _cipher(server.secret_key, server.secret_key_fallbacks)


def encrypt(plaintext: str) -> str:
    return cipher().encrypt(plaintext.encode()).decode()


def decrypt(ciphertext: str) -> str:
    try:
        return cipher().decrypt(ciphertext.encode()).decode()
    except InvalidToken:
        raise ValueError("cannot decrypt: FOLLOWUP_SECRET_KEY differs from the one used") from None


def sign_value(value: str, purpose: str) -> str:
    """A short keyed signature binding `value` to one `purpose` (cookies, links)."""
    key = hashlib.sha256(f"{purpose}:{get_settings().server.secret_key}".encode()).digest()
    mac = hmac.new(key, value.encode(), hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def verify_signed_value(value: str, signature: str, purpose: str) -> bool:
    return hmac.compare_digest(sign_value(value, purpose), signature)


def _mail_safe_signature(value: str, purpose: str, secret: str) -> str:
    key = hashlib.sha256(f"{purpose}:{secret}".encode()).digest()
    mac = hmac.new(key, value.encode(), hashlib.sha256).digest()[:10]
    return base64.b32encode(mac).decode().lower()  # 16 characters, no padding


def sign_for_address(value: str, purpose: str) -> str:
    """`sign_value` for an email address's local part: lower-case base32, because mail servers
    may change the case of a local part, and 80 bits, because it travels in every reply."""
    return _mail_safe_signature(value, purpose, get_settings().server.secret_key)


def verify_address_signature(value: str, signature: str, purpose: str) -> bool:
    """Accepts signatures made with the current key or any fallback (keys rotate, replies come late)."""
    server = get_settings().server
    given = signature.lower().encode()
    return any(
        hmac.compare_digest(_mail_safe_signature(value, purpose, key).encode(), given)
        for key in (server.secret_key, *server.secret_key_fallbacks)
    )
