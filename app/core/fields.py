"""Model fields with behaviour of their own: secrets that are encrypted before they reach the database."""

from __future__ import annotations

from typing import Any, TypedDict

from tortoise.fields import TextField

from app.core.security import decrypt, encrypt


class MoneyDigits(TypedDict):
    max_digits: int
    decimal_places: int


# Every stored amount: `fields.DecimalField(**MONEY)`. A TypedDict, so the unpacked keywords type-check.
MONEY: MoneyDigits = {"max_digits": 16, "decimal_places": 4}


class EncryptedTextField(TextField):
    """Stores Fernet ciphertext; the model attribute always holds the plaintext."""

    def to_db_value(self, value: Any, instance: Any) -> str | None:
        if value is None:
            return None
        return encrypt(str(value))

    def to_python_value(self, value: Any) -> str | None:
        if value is None or not isinstance(value, str):
            return value
        if not value.startswith("gAAAA"):
            # Already plaintext: the ORM hands freshly assigned values back through here too.
            return value
        return decrypt(value)
