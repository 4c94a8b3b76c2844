// Print, one JSON line each, what the pixel posts for the sample events (used by the Python contract test).
import {load, sample} from "./harness.mjs";

const [collectUrl, publishableKey] = process.argv.slice(2);
const {handlers, posts} = load({collectUrl, publishableKey});
handlers.checkout_started(sample("checkout_started"));
handlers.checkout_contact_info_submitted(sample("checkout_contact_info_submitted"));
handlers.checkout_shipping_info_submitted(sample("checkout_shipping_info_submitted"));
handlers.checkout_completed(sample("checkout_completed", {order: {id: "gid://shopify/Order/6112345678901"}}));
for (const post of posts) console.log(JSON.stringify({url: post.url, keepalive: post.init.keepalive, body: post.body}));
