// Map Shopify's standard checkout events to the Segment-spec events FollowUp's collect endpoint
// accepts (app/integrations/collect/spec.py and normalize.py hold that contract).

export const LIBRARY = {name: "followup-shopify-pixel", version: "1.0.0"};

const STEPS = {
  checkout_started: {event: "Checkout Started"},
  checkout_contact_info_submitted: {event: "Checkout Step Completed", step: "contact"},
  checkout_shipping_info_submitted: {event: "Checkout Step Completed", step: "shipping"},
  checkout_completed: {event: "Order Completed"},
};

const amount = (money) => (money && money.amount != null ? Number(money.amount) : undefined);

// Order ids may arrive as gids; FollowUp matches orders by the numeric id webhooks carry.
const numericId = (id) => (id == null ? undefined : String(id).split("/").pop());

function absolute(url, origin) {
  if (!url) return undefined;
  try {
    return new URL(url, origin).toString();
  } catch {
    return undefined;
  }
}

function products(checkout, origin) {
  return (checkout.lineItems || []).map((line) => {
    const variant = line.variant || {};
    const product = variant.product || {};
    return {
      product_id: numericId(product.id),
      variant_id: numericId(variant.id),
      sku: variant.sku || undefined,
      name: line.title || product.title,
      variant: variant.title || undefined,
      brand: product.vendor || undefined,
      category: product.type || undefined,
      price: amount(variant.price),
      quantity: line.quantity,
      url: absolute(product.url, origin),
      image_url: variant.image ? absolute(variant.image.src, origin) : undefined,
    };
  });
}

function traits(checkout) {
  const address = checkout.shippingAddress || checkout.billingAddress || {};
  const found = {
    email: checkout.email || undefined,
    phone: checkout.smsMarketingPhone || checkout.phone || address.phone || undefined,
    first_name: address.firstName || undefined,
    last_name: address.lastName || undefined,
    address: address.countryCode ? {country: address.countryCode} : undefined,
  };
  // Only explicit answers: a missing flag (outside Checkout Extensibility) is "unknown", not "no".
  const consent = {};
  if (typeof checkout.buyerAcceptsEmailMarketing === "boolean") consent.email = checkout.buyerAcceptsEmailMarketing;
  if (typeof checkout.buyerAcceptsSmsMarketing === "boolean") consent.sms = checkout.buyerAcceptsSmsMarketing;
  if (Object.keys(consent).length) found.consent = consent;
  return found;
}

function properties(name, checkout, origin) {
  const step = STEPS[name];
  const props = {
    checkout_id: checkout.token,
    currency: checkout.currencyCode || (checkout.totalPrice || {}).currencyCode,
    total: amount(checkout.totalPrice),
    subtotal: amount(checkout.subtotalPrice),
    tax: amount(checkout.totalTax),
    discount: amount(checkout.discountsAmount),
    shipping: checkout.shippingLine ? amount(checkout.shippingLine.price) : undefined,
    coupon: ((checkout.discountApplications || []).find((d) => d.type === "DISCOUNT_CODE") || {}).title,
    products: products(checkout, origin),
  };
  if (step.step) props.step_name = step.step;
  if (name === "checkout_completed") props.order_id = numericId((checkout.order || {}).id);
  return props;
}

/** The Segment-spec event for one Shopify event, or null for events we do not track. */
export function toSegment(shopifyEvent) {
  const step = STEPS[shopifyEvent.name];
  const checkout = (shopifyEvent.data || {}).checkout;
  if (!step || !checkout || !checkout.token) return null;
  const context = shopifyEvent.context || {};
  const location = (context.document || {}).location || {};
  const navigator = context.navigator || {};
  return {
    type: "track",
    event: step.event,
    messageId: shopifyEvent.id,
    anonymousId: shopifyEvent.clientId,
    timestamp: shopifyEvent.timestamp,
    properties: properties(shopifyEvent.name, checkout, location.origin || (context.window || {}).origin),
    context: {
      traits: traits(checkout),
      locale: navigator.language,
      userAgent: navigator.userAgent,
      page: {url: location.href},
      library: LIBRARY,
    },
  };
}

/** POST one event; keepalive lets it finish while the shopper moves to the next page. */
export function send(settings, event) {
  const url = `${settings.collectUrl}?key=${encodeURIComponent(settings.publishableKey)}`;
  // text/plain keeps this a "simple" request: no CORS preflight, which keepalive handles badly.
  return fetch(url, {
    method: "POST",
    keepalive: true,
    headers: {"Content-Type": "text/plain;charset=UTF-8"},
    body: JSON.stringify(event),
  }).catch(() => undefined); // a lost event is recovered by the checkouts/* webhooks
}

export function subscribeAll({analytics, settings}) {
  if (!settings || !settings.collectUrl || !settings.publishableKey) return;
  for (const name of Object.keys(STEPS)) {
    analytics.subscribe(name, (event) => {
      const segment = toSegment(event);
      if (segment) send(settings, segment);
    });
  }
}
