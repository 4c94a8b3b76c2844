"""Merchant templates: sandboxed Jinja2, the variables they may use, and the email and SMS they produce."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from babel.dates import format_datetime
from jinja2 import Template, TemplateSyntaxError, meta

from app.core.money import format_money, normal_locale
from app.messaging.segments import count_segments
from app.recovery import links, sandbox
from app.recovery.sandbox import RenderProblem

VARIABLES: dict[str, str] = {
    "first_name": "shopper's first name (may be empty)",
    "last_name": "shopper's last name (may be empty)",
    "store_name": "the store's name",
    "store_url": "the store's home page",
    "store_phone": "the store's SMS number (may be empty)",
    "items": "line items: title, variant, quantity, price, line_total, image_url, url, "
    "was_price (the higher price before a drop, else empty)",
    "price_drop": "true when the store lowered a price in the cart since it was left",
    "sold_out_items": "titles of items the store sold out since (left out of items)",
    "total_label": "'Total', or 'Subtotal' when the store's prices changed since (taxes and "
    "shipping are worked out again at checkout)",
    "item_count": "number of units in the cart",
    "first_item": "title of the first line item",
    "subtotal": "cart subtotal, formatted in the store's currency",
    "total": "cart total, formatted in the store's currency",
    "currency": "ISO currency code",
    "order_number": "payment reminders: the order's number (empty in other flows)",
    "order_total": "payment reminders: the order's total, formatted (empty in other flows)",
    "magic_link": "one-click link back to the pre-filled checkout (other flows: the store)",
    "chat_link": "the magic link that also opens the store's live chat on this conversation"
    " (empty while the store's chat is off)",
    "discount_code": "the shopper's code (empty when the step has no incentive or the cart is below it)",
    "discount_label": "e.g. '10% off' or 'Free shipping'",
    "discount_offer": "the offer in a phrase: '10% off with code X' or 'Free shipping with code X'",
    "discount_expires": "formatted expiry of the code",
    "unsubscribe_url": "email unsubscribe page",
}
LAYOUT = Path(__file__).parent / "templates" / "email.html"
STOP_TEXT = "Reply STOP to opt out."
MAX_SOURCE = 100_000  # characters of one template part
MAX_SUBJECT = 998  # RFC 5322 line limit, and the column's size


class TemplateProblem(ValueError):
    """A template that cannot be saved; the message names the line and the variable."""


@lru_cache(maxsize=2)
def environment(html: bool) -> sandbox.BoundedSandbox:
    return sandbox.environment(html)


def check(source: str, where: str) -> None:
    """Raise TemplateProblem for syntax errors (with line) or variables we do not provide."""
    if len(source) > MAX_SOURCE:
        raise TemplateProblem(f"{where}: a template is at most {MAX_SOURCE:,} characters")
    env = environment(False)
    try:
        ast = env.parse(source)
    except TemplateSyntaxError as exc:
        raise TemplateProblem(
            f"{where}: template syntax error on line {exc.lineno}: {exc.message}"
        ) from None
    unknown = sorted(meta.find_undeclared_variables(ast) - VARIABLES.keys())
    if unknown:
        raise TemplateProblem(
            f"{where}: unknown variable {', '.join(repr(u) for u in unknown)}; "
            f"available: {', '.join(sorted(VARIABLES))}"
        )


@dataclass(frozen=True, slots=True)
class Discount:
    code: str
    label: str
    ends_at: datetime | None


@dataclass(frozen=True, slots=True)
class Rendered:
    subject: str | None
    text: str
    html: str | None
    segments: int
    encoding: str


def build_context(
    *,
    store: Any,
    checkout: Any | None,
    contact: Any | None,
    magic_link: str,
    unsubscribe_url: str,
    discount: Discount | None,
    cart: Any | None = None,
    order: Any | None = None,
) -> dict[str, Any]:
    """Everything a template may use, already formatted: templates never do money arithmetic.

    With `cart` (app.recovery.fresh.Cart, the store's prices right before the send) the items,
    drops and totals are the store's current ones; the captured cart otherwise. A flow with no
    cart (a birthday, a welcome...) renders with no items and a zero total; a payment reminder's
    `checkout` is the one its order came from (its lines), `order` the order (`order_total`,
    `order_number`). A template that loops over items simply shows none."""
    locale = normal_locale((checkout.locale if checkout else None) or store.locale)
    currency = (checkout.currency if checkout else None) or (
        order.currency if order else store.currency
    )
    lines = cart.items if cart is not None else (checkout.line_items if checkout else None) or []
    items = [
        {
            "title": i.get("title", ""),
            "variant": i.get("variant_title") or "",
            "quantity": int(i.get("quantity", 1)),
            "price": format_money(i.get("unit_price", "0"), currency, locale),
            "line_total": format_money(
                i.get("line_total", i.get("unit_price", "0")), currency, locale
            ),
            "image_url": i.get("image_url") or "",
            "url": i.get("product_url") or "",
            "was_price": format_money(i["was_price"], currency, locale)
            if i.get("was_price")
            else "",
        }
        for i in lines
    ]
    # Taxes and shipping are the store's to work out again: a changed cart shows its items' sum.
    fresh_subtotal = cart.subtotal if cart is not None else None
    changed = fresh_subtotal is not None
    zero = Decimal(0)
    captured_total = checkout.total if checkout else (order.total if order else zero)
    captured_subtotal = checkout.subtotal if checkout else captured_total
    subtotal = captured_subtotal if fresh_subtotal is None else fresh_subtotal
    total = captured_total if fresh_subtotal is None else fresh_subtotal
    return {
        "first_name": (contact.first_name if contact else None) or "",
        "last_name": (contact.last_name if contact else None) or "",
        "store_name": store.name,
        "store_url": f"https://{store.domain}",
        "store_phone": store.sms_number or "",
        "items": items,
        "item_count": sum(i["quantity"] for i in items),
        "first_item": items[0]["title"] if items else "your items",
        "subtotal": format_money(subtotal, currency, locale),
        "total": format_money(total, currency, locale),
        "total_label": "Subtotal" if changed else "Total",
        "price_drop": bool(cart is not None and cart.price_drop),
        "sold_out_items": [str(i.get("title") or "") for i in (cart.sold_out if cart else [])],
        "currency": currency,
        "order_number": str(order.external_id) if order else "",
        "order_total": format_money(order.total, order.currency, locale) if order else "",
        "magic_link": magic_link,
        "chat_link": links.chat_link(magic_link) if _chat_on(store) else "",
        "discount_code": discount.code if discount else "",
        "discount_label": discount.label if discount else "",
        "discount_offer": f"{discount.label} with code {discount.code}" if discount else "",
        "discount_expires": format_datetime(discount.ends_at, "medium", locale=locale)
        if discount and discount.ends_at
        else "",
        "unsubscribe_url": unsubscribe_url,
        "lang": locale.split("_")[0],
    }


def _chat_on(store: Any) -> bool:
    """A chat link only where the store's chat is on: elsewhere it would open nothing."""
    chat = (getattr(store, "settings", None) or {}).get("chat") or {}
    return bool(chat.get("enabled"))


@lru_cache(maxsize=512)
def compiled(source: str, html: bool) -> Template:
    """Compiling is the slow part of rendering; a flow's few templates are compiled once."""
    return environment(html).from_string(source)


def _text(source: str | None, context: dict[str, Any]) -> str:
    return sandbox.render(compiled(source or "", False), context).strip()


def render_sms(
    body: str, context: dict[str, Any], *, compliance: bool = True, part: str = "body"
) -> Rendered:
    """Automated texts name the brand and say how to stop, as carriers and the CTIA require."""
    with _part(part):
        text = " ".join(_text(body, context).split())
    if compliance:
        if context["store_name"].lower() not in text.lower():
            text = f"{context['store_name']}: {text}"
        if "stop" not in text.lower():
            text = f"{text} {STOP_TEXT}"
    info = count_segments(text)
    return Rendered(None, text, None, info.segments, info.encoding)


def render_email(variant: dict[str, Any], context: dict[str, Any]) -> Rendered:
    """Raises PartProblem naming the part (subject, body, html) that could not be rendered."""
    with _part("subject"):
        subject = " ".join(_text(str(variant.get("subject") or ""), context).split())
        if len(subject) > MAX_SUBJECT:
            raise RenderProblem(f"it renders {len(subject):,} characters (at most {MAX_SUBJECT})")
    with _part("body"):
        body = _text(str(variant.get("body") or ""), context)
    paragraphs = [p.strip() for p in body.split("\n\n") if p.strip()]
    page = {**context, "subject": subject, "paragraphs": paragraphs}
    with _part("html"):
        source = str(variant["html"]) if variant.get("html") else _layout()
        html = sandbox.render(compiled(source, True), page)
    return Rendered(subject, _plain(body, context), html, 0, "")


class PartProblem(RenderProblem):
    """A RenderProblem that knows which part of the variant it came from."""

    def __init__(self, part: str, reason: str) -> None:
        super().__init__(f"the {part} could not be rendered: {reason}")
        self.part = part
        self.reason = reason


@contextmanager
def _part(name: str) -> Iterator[None]:
    try:
        yield
    except PartProblem:
        raise
    except RenderProblem as exc:
        raise PartProblem(name, str(exc)) from None


SAMPLE_STORE = SimpleNamespace(
    name="Your store",
    settings={"chat": {"enabled": True}},
    domain="shop.example.com",
    sms_number="+14155550100",
    locale="en",
    currency="USD",
)


def sample_checkout(public_url: str = "") -> SimpleNamespace:
    """The cart previews and save-time checks render against: two mugs, pictured when a URL is given."""
    image = f"{public_url}/static/demo/mug.svg" if public_url else ""
    return SimpleNamespace(
        id=None,
        locale=None,
        currency=None,
        subtotal=Decimal("64.00"),
        total=Decimal("64.00"),
        line_items=[
            {
                "title": "Coffee mug",
                "variant_title": "Blue",
                "quantity": 2,
                "unit_price": "32.00",
                "line_total": "64.00",
                "image_url": image,
            }
        ],
    )


SAMPLE_CHECKOUT = sample_checkout()
SAMPLE_CONTACT = SimpleNamespace(first_name="Jane", last_name="Doe")
SAMPLE_DISCOUNT = Discount("SAMPLE-10OFF", "10% off", datetime(2030, 1, 1, tzinfo=UTC))


def try_variant(channel: str, variant: dict[str, Any]) -> None:
    """Render every part of a variant as a send would, against a sample checkout with a code:
    a template that cannot render is refused when it is saved, not found out when it is due."""
    context = build_context(
        store=SAMPLE_STORE,
        checkout=SAMPLE_CHECKOUT,
        contact=SAMPLE_CONTACT,
        magic_link="https://shop.example.com/r/sample",
        unsubscribe_url="https://shop.example.com/u/sample",
        discount=SAMPLE_DISCOUNT,
    )
    if channel in ("email", "auto"):
        render_email(variant, context)
    if channel == "sms":
        render_sms(str(variant.get("body") or ""), context)
    if channel == "auto":
        render_sms(str(variant.get("sms_body") or ""), context, part="sms_body")


@lru_cache(maxsize=1)
def _layout() -> str:
    return LAYOUT.read_text()


def _plain(body: str, context: dict[str, Any]) -> str:
    lines = [body, ""]
    if context.get("discount_code"):
        lines += [f"{context['discount_offer']}.", ""]
    for item in context["items"]:
        variant = f" ({item['variant']})" if item["variant"] else ""
        drop = f" (now {item['price']}, was {item['was_price']})" if item.get("was_price") else ""
        lines.append(f"- {item['quantity']} x {item['title']}{variant}: {item['line_total']}{drop}")
    if context["items"]:
        lines += [f"{context.get('total_label', 'Total')}: {context['total']}", ""]
    lines += [f"Complete your purchase: {context['magic_link']}", ""]
    if context.get("chat_link"):
        lines += [f"Chat with us: {context['chat_link']}", ""]
    lines += [
        f"Unsubscribe: {context['unsubscribe_url']}",
    ]
    return "\n".join(lines)
