// Run the bundle `shopify app build` produced, the way Shopify's runtime does, and print what it posts.
// Usage: node test/bundle.mjs <dist/followup-pixel.js> <collectUrl> <publishableKey>
import {readFileSync} from "node:fs";
import {runInThisContext} from "node:vm";
import {SAMPLE_PATH} from "./sample-path.mjs";

const [bundle, collectUrl, publishableKey] = process.argv.slice(2);
const SAMPLE = JSON.parse(readFileSync(SAMPLE_PATH));
const posts = [];
let pixel;
// The real @shopify/web-pixels-extension `register` calls shopify.extend("WebPixel::Render", fn).
globalThis.shopify = {extend: (point, fn) => point === "WebPixel::Render" && (pixel = fn)};
globalThis.fetch = async (url, init) => {
  posts.push({url, keepalive: init.keepalive, contentType: init.headers["Content-Type"], body: JSON.parse(init.body)});
  return new Response(null, {status: 202});
};
runInThisContext(readFileSync(bundle, "utf8"), {filename: bundle});
if (!pixel) throw new Error("the bundle did not register a WebPixel::Render extension");

const handlers = {};
pixel({
  analytics: {subscribe: (name, fn) => (handlers[name] = fn)},
  browser: {},
  init: {context: SAMPLE.context, data: {}},
  settings: {collectUrl, publishableKey},
});
for (const name of ["checkout_started", "checkout_contact_info_submitted", "checkout_shipping_info_submitted"]) {
  handlers[name]({...structuredClone(SAMPLE), name, id: `${SAMPLE.id}-bundle-${name}`});
}
await new Promise((resolve) => setTimeout(resolve, 0));
for (const post of posts) console.log(JSON.stringify(post));
