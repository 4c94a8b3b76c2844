import {test} from "node:test";
import assert from "node:assert/strict";
import {load, sample, SETTINGS, SAMPLE} from "./harness.mjs";

const TOKEN = SAMPLE.data.checkout.token;

test("subscribes to the four checkout events and page views", () => {
  const {handlers} = load();
  assert.deepEqual(Object.keys(handlers).sort(), [
    "checkout_completed",
    "checkout_contact_info_submitted",
    "checkout_shipping_info_submitted",
    "checkout_started",
    "page_viewed",
  ]);
});

/** A page_viewed event on `href`, shaped like Shopify's. */
function view(href) {
  return {
    id: "pv-1", name: "page_viewed", clientId: SAMPLE.clientId, timestamp: "2026-03-02T12:00:00.000Z",
    seq: 9, type: "standard", data: {},
    context: {...SAMPLE.context, document: {...SAMPLE.context.document, location: {...SAMPLE.context.document.location, href}}},
  };
}
const settle = () => new Promise((resolve) => setTimeout(resolve, 10));

test("viewing a store page with a checkout open reports Checkout Exited once", async () => {
  const {handlers, posts, storage} = load();
  handlers.checkout_started(sample("checkout_started"));
  await settle();
  assert.equal(storage.items.get("followup_open_checkout"), TOKEN);
  await handlers.page_viewed(view("https://velvet-fern-goods.myshopify.com/checkouts/cn/abc/information"));
  assert.equal(posts.length, 1, "a checkout page is not an exit");
  await handlers.page_viewed(view("https://velvet-fern-goods.myshopify.com/collections/all"));
  assert.equal(posts.length, 2);
  const exit = posts[1].body;
  assert.equal(exit.event, "Checkout Exited");
  assert.equal(exit.properties.checkout_id, TOKEN);
  assert.equal(exit.anonymousId, SAMPLE.clientId);
  assert.equal(exit.messageId, "pv-1");
  await handlers.page_viewed(view("https://velvet-fern-goods.myshopify.com/"));
  assert.equal(posts.length, 2, "one exit per open checkout");
});

test("a completed checkout is not an exit", async () => {
  const {handlers, posts} = load();
  handlers.checkout_started(sample("checkout_started"));
  handlers.checkout_completed(sample("checkout_completed", {order: {id: "gid://shopify/Order/1"}}));
  await settle();
  await handlers.page_viewed(view("https://velvet-fern-goods.myshopify.com/"));
  assert.deepEqual(posts.map((p) => p.body.event), ["Checkout Started", "Order Completed"]);
});

test("contact info becomes a Checkout Step Completed with traits, consent and products", async () => {
  const {handlers, posts} = load();
  handlers.checkout_contact_info_submitted(sample("checkout_contact_info_submitted"));
  assert.equal(posts.length, 1);
  const {url, init, body} = posts[0];
  assert.equal(url, "https://app.example.com/collect/v1/events?key=fu_pk_test%20key");
  assert.equal(init.method, "POST");
  assert.equal(init.keepalive, true);
  assert.equal(body.type, "track");
  assert.equal(body.event, "Checkout Step Completed");
  assert.equal(body.anonymousId, SAMPLE.clientId);
  assert.equal(body.messageId, `${SAMPLE.id}-checkout_contact_info_submitted`);
  assert.equal(body.properties.checkout_id, TOKEN);
  assert.equal(body.properties.step_name, "contact");
  assert.equal(body.properties.total, 118);
  assert.equal(body.properties.currency, "USD");
  assert.deepEqual(body.context.traits, {
    email: "maya.okafor@example.com",
    phone: "+14155550173",
    first_name: "Maya",
    last_name: "Okafor",
    address: {country: "US"},
    consent: {email: true, sms: true},
  });
  const [pillow] = body.properties.products;
  assert.equal(pillow.sku, "LTP-SAGE-20");
  assert.equal(pillow.price, 48);
  assert.equal(pillow.quantity, 2);
  assert.equal(pillow.url, "https://velvet-fern-goods.myshopify.com/products/linen-throw-pillow");
  assert.match(pillow.image_url, /linen-pillow-sage\.jpg/);
});

test("checkout_started and shipping map to their Segment names", () => {
  const {handlers, posts} = load();
  handlers.checkout_started(sample("checkout_started"));
  handlers.checkout_shipping_info_submitted(sample("checkout_shipping_info_submitted"));
  assert.deepEqual(posts.map((p) => p.body.event), ["Checkout Started", "Checkout Step Completed"]);
  assert.equal(posts[1].body.properties.step_name, "shipping");
});

test("checkout_completed is an Order Completed with the order id and checkout id", () => {
  const {handlers, posts} = load();
  handlers.checkout_completed(sample("checkout_completed", {order: {id: "gid://shopify/Order/6112345678901"}}));
  assert.equal(posts[0].body.event, "Order Completed");
  assert.equal(posts[0].body.properties.order_id, "6112345678901");
  assert.equal(posts[0].body.properties.checkout_id, TOKEN);
});

test("missing consent flags stay unknown, never a refusal", () => {
  const {handlers, posts} = load();
  handlers.checkout_started(sample("checkout_started", {buyerAcceptsSmsMarketing: undefined, buyerAcceptsEmailMarketing: undefined}));
  assert.equal(posts[0].body.context.traits.consent, undefined);
});

test("no settings, no checkout or no token: nothing is posted", () => {
  const unset = load({collectUrl: "", publishableKey: ""});
  assert.deepEqual(Object.keys(unset.handlers), []);
  const {handlers, posts} = load(SETTINGS);
  handlers.checkout_started({...sample("checkout_started"), data: {}});
  handlers.checkout_started(sample("checkout_started", {token: null}));
  assert.equal(posts.length, 0);
});
