// Map Shopify's standard checkout events to the Segment-spec events FollowUp's collect endpoint
// accepts (app/integrations/collect/spec.py and normalize.py hold that contract).

/**
 * Types from Shopify's own package: `tsc --noEmit --strict` (tsconfig.json, checkJs) checks every
 * field read below against them, so a renamed or removed field fails the test suite.
 * @typedef {import("@shopify/web-pixels-extension").Checkout} Checkout
 * @typedef {import("@shopify/web-pixels-extension").MoneyV2} MoneyV2
 * @typedef {import("@shopify/web-pixels-extension").ExtensionApi} ExtensionApi
 * @typedef {import("@shopify/web-pixels-extension").PixelEventsCheckoutStarted
 *   | import("@shopify/web-pixels-extension").PixelEventsCheckoutContactInfoSubmitted
 *   | import("@shopify/web-pixels-extension").PixelEventsCheckoutShippingInfoSubmitted
 *   | import("@shopify/web-pixels-extension").PixelEventsCheckoutCompleted} CheckoutEvent
 * @typedef {import("@shopify/web-pixels-extension").PixelEventsPageViewed} PageViewed
 * @typedef {import("@shopify/web-pixels-extension").BrowserSessionStorage} SessionStorage
 * @typedef {{collectUrl: string, publishableKey: string}} Settings
 * @typedef {{event: string, step?: string}} Step
 */

export const LIBRARY = {name: "followup-shopify-pixel", version: "1.0.0"};

/** @type {Record<CheckoutEvent["name"], Step>} */
const STEPS = {
  checkout_started: {event: "Checkout Started"},
  checkout_contact_info_submitted: {event: "Checkout Step Completed", step: "contact"},
  checkout_shipping_info_submitted: {event: "Checkout Step Completed", step: "shipping"},
  checkout_completed: {event: "Order Completed"},
};

/** @param {MoneyV2 | null | undefined} money */
const amount = (money) => (money && money.amount != null ? Number(money.amount) : undefined);

// Order ids may arrive as gids; FollowUp matches orders by the numeric id webhooks carry.
/** @param {string | null | undefined} id */
const numericId = (id) => (id == null ? undefined : String(id).split("/").pop());

/**
 * @param {string | null | undefined} url
 * @param {string | undefined} origin
 */
function absolute(url, origin) {
  if (!url) return undefined;
  try {
    return new URL(url, origin).toString();
  } catch {
    return undefined;
  }
}

/**
 * @param {Checkout} checkout
 * @param {string | undefined} origin
 */
function products(checkout, origin) {
  return (checkout.lineItems || []).map((line) => {
    const variant = line.variant;
    const product = variant ? variant.product : null;
    return {
      product_id: numericId(product?.id),
      variant_id: numericId(variant?.id),
      sku: variant?.sku || undefined,
      name: line.title || product?.title,
      variant: variant?.title || undefined,
      brand: product?.vendor || undefined,
      category: product?.type || undefined,
      price: amount(variant?.price),
      quantity: line.quantity,
      url: absolute(product?.url, origin),
      image_url: variant?.image ? absolute(variant.image.src, origin) : undefined,
    };
  });
}

/** @param {Checkout} checkout */
function traits(checkout) {
  const address = checkout.shippingAddress || checkout.billingAddress;
  /** @type {Record<string, unknown>} */
  const found = {
    email: checkout.email || undefined,
    phone: checkout.smsMarketingPhone || checkout.phone || address?.phone || undefined,
    first_name: address?.firstName || undefined,
    last_name: address?.lastName || undefined,
    address: address?.countryCode ? {country: address.countryCode} : undefined,
  };
  // Only explicit answers: a missing flag (outside Checkout Extensibility) is "unknown", not "no".
  /** @type {{email?: boolean, sms?: boolean}} */
  const consent = {};
  if (typeof checkout.buyerAcceptsEmailMarketing === "boolean") consent.email = checkout.buyerAcceptsEmailMarketing;
  if (typeof checkout.buyerAcceptsSmsMarketing === "boolean") consent.sms = checkout.buyerAcceptsSmsMarketing;
  if (Object.keys(consent).length) found.consent = consent;
  return found;
}

/**
 * @param {CheckoutEvent["name"]} name
 * @param {Checkout} checkout
 * @param {string | undefined} origin
 */
function properties(name, checkout, origin) {
  const step = STEPS[name];
  /** @type {Record<string, unknown>} */
  const props = {
    checkout_id: checkout.token,
    currency: checkout.currencyCode || (checkout.totalPrice || {}).currencyCode,
    total: amount(checkout.totalPrice),
    subtotal: amount(checkout.subtotalPrice),
    tax: amount(checkout.totalTax),
    discount: amount(checkout.discountsAmount),
    shipping: checkout.shippingLine ? amount(checkout.shippingLine.price) : undefined,
    coupon: (checkout.discountApplications || []).find((d) => d.type === "DISCOUNT_CODE")?.title,
    products: products(checkout, origin),
  };
  if (step.step) props.step_name = step.step;
  if (name === "checkout_completed") props.order_id = numericId(checkout.order?.id);
  return props;
}

/**
 * The Segment-spec event for one Shopify event, or null for events we do not track.
 * @param {CheckoutEvent} shopifyEvent
 */
export function toSegment(shopifyEvent) {
  const step = STEPS[shopifyEvent.name];
  const checkout = shopifyEvent.data?.checkout;
  if (!step || !checkout || !checkout.token) return null;
  const context = shopifyEvent.context;
  const location = context?.document?.location;
  const navigator = context?.navigator;
  return {
    type: "track",
    event: step.event,
    messageId: shopifyEvent.id,
    anonymousId: shopifyEvent.clientId,
    timestamp: shopifyEvent.timestamp,
    properties: properties(shopifyEvent.name, checkout, location?.origin || context?.window?.origin),
    context: {
      traits: traits(checkout),
      locale: navigator?.language,
      userAgent: navigator?.userAgent,
      page: {url: location?.href},
      library: LIBRARY,
    },
  };
}

/**
 * POST one event; keepalive lets it finish while the shopper moves to the next page.
 * @param {Settings} settings
 * @param {object} event
 */
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

// The checkout the shopper is in, kept for the tab's session, so a page view elsewhere in the
// store can say they left it. Shopify's sandbox has no unload event: this is the pixel's exit.
export const OPEN_CHECKOUT = "followup_open_checkout";

/** @param {string | undefined} href */
function isCheckoutPage(href) {
  try {
    return /\/checkouts?\//.test(new URL(href || "").pathname);
  } catch {
    return true; // unknown page: never report an exit on a guess
  }
}

/**
 * A Checkout Exited event when the shopper views a store page (not checkout) with a checkout open.
 * @param {PageViewed} view
 * @param {string} token
 */
export function exitEvent(view, token) {
  return {
    type: "track",
    event: "Checkout Exited",
    messageId: view.id,
    anonymousId: view.clientId,
    timestamp: view.timestamp,
    properties: {checkout_id: token},
    context: {page: {url: view.context?.document?.location?.href}, library: LIBRARY},
  };
}

/**
 * @param {SessionStorage | undefined} storage
 * @param {CheckoutEvent} event
 */
function remember(storage, event) {
  const token = event.data?.checkout?.token;
  if (!storage || !token) return;
  const done = event.name === "checkout_completed";
  (done ? storage.removeItem(OPEN_CHECKOUT) : storage.setItem(OPEN_CHECKOUT, token)).catch(() => undefined);
}

/**
 * @param {Settings} settings
 * @param {SessionStorage | undefined} storage
 * @param {PageViewed} view
 */
async function reportExit(settings, storage, view) {
  if (!storage || isCheckoutPage(view.context?.document?.location?.href)) return;
  const token = await storage.getItem(OPEN_CHECKOUT).catch(() => null);
  if (!token) return;
  await storage.removeItem(OPEN_CHECKOUT).catch(() => undefined);
  await send(settings, exitEvent(view, String(token)));
}

/** @param {Pick<ExtensionApi, "analytics" | "settings" | "browser">} api */
export function subscribeAll({analytics, settings, browser}) {
  if (!settings || !settings.collectUrl || !settings.publishableKey) return;
  const configured = /** @type {Settings} */ (settings);
  const storage = browser?.sessionStorage;
  for (const name of /** @type {CheckoutEvent["name"][]} */ (Object.keys(STEPS))) {
    analytics.subscribe(name, (/** @type {CheckoutEvent} */ event) => {
      const segment = toSegment(event);
      if (segment) send(configured, segment);
      remember(storage, event);
    });
  }
  analytics.subscribe("page_viewed", (/** @type {PageViewed} */ view) => reportExit(configured, storage, view));
}
