"""Where a Shopify shopper's birthday comes from: the customer's metafields (Shopify's "Birth
date", facts.birth_date, before the merchant's custom ones), an order's note attributes, then
the order's customer metafields; unreadable values are skipped, never an error."""

from __future__ import annotations

from datetime import date
from typing import Any

from app.integrations.shopify.normalize import contact, customer


def _field(namespace: str, key: str, value: Any) -> dict[str, Any]:
    return {"namespace": namespace, "key": key, "value": value, "type": "date"}


def _customer(*metafields: dict[str, Any]) -> dict[str, Any]:
    return {"id": 7, "email": "ines.ward@example.com", "metafields": list(metafields)}


def test_the_standard_birth_date_metafield_wins_over_custom_ones() -> None:
    found = customer(
        _customer(
            _field("custom", "birthday", "1985-01-02"), _field("facts", "birth_date", "1990-05-17")
        )
    )
    assert found.contact.birthday == date(1990, 5, 17)


def test_each_custom_key_is_read_and_a_bad_value_falls_through() -> None:
    for key in ("birthday", "birth_date", "date_of_birth"):
        assert customer(_customer(_field("custom", key, "1979-12-31"))).contact.birthday == date(
            1979, 12, 31
        )
    mixed = _customer(
        _field("facts", "birth_date", "1990-02-30"),
        _field("custom", "birthday", 42),
        _field("custom", "date_of_birth", "2001-03-04"),
    )
    assert customer(mixed).contact.birthday == date(2001, 3, 4)


def test_no_readable_birthday_is_none() -> None:
    assert customer(_customer()).contact.birthday is None
    assert customer({"email": "a@example.com"}).contact.birthday is None
    other = _customer(
        _field("facts", "birth_date", "tomorrow"), _field("other", "birthday", "1990-01-01")
    )
    assert (
        customer({**other, "metafields": [*other["metafields"], "junk"]}).contact.birthday is None
    )


def test_an_order_falls_back_to_its_customers_metafields() -> None:
    order = {
        "email": "a@example.com",
        "customer": _customer(_field("facts", "birth_date", "1990-05-17")),
    }
    assert contact(order).birthday == date(1990, 5, 17)
    noted = {**order, "note_attributes": [{"name": "Birthday", "value": "1991-06-18"}]}
    assert contact(noted).birthday == date(1991, 6, 18)
    unreadable = {**order, "note_attributes": [{"name": "birthday", "value": "soon"}]}
    assert contact(unreadable).birthday == date(1990, 5, 17)
