// Load the real extension with a fake `register`, a fake analytics bus and a recording fetch.
import {register} from "node:module";
import {readFileSync} from "node:fs";

register("./loader.mjs", import.meta.url);
await import("../src/index.js");

export const SETTINGS = {collectUrl: "https://app.example.com/collect/v1/events", publishableKey: "fu_pk_test key"};
export const SAMPLE = JSON.parse(
  readFileSync(new URL("../../../../tests/payloads/shopify_web_pixel_checkout_contact_info_submitted.json", import.meta.url)),
);

// The sandbox's async sessionStorage, backed by a Map the test can read.
export function sessionStorage(items = new Map()) {
  return {
    items,
    getItem: async (key) => (items.has(key) ? items.get(key) : null),
    setItem: async (key, value) => void items.set(key, String(value)),
    removeItem: async (key) => void items.delete(key),
  };
}

export function load(settings = SETTINGS, storage = sessionStorage()) {
  const handlers = {};
  const posts = [];
  globalThis.fetch = async (url, init) => {
    posts.push({url, init, body: JSON.parse(init.body)});
    return new Response(null, {status: 202});
  };
  globalThis.__followupPixel({
    analytics: {subscribe: (name, fn) => (handlers[name] = fn)},
    browser: {sessionStorage: storage},
    init: {context: SAMPLE.context, data: {}},
    settings,
  });
  return {handlers, posts, storage};
}

export function sample(name, changes = {}) {
  const event = structuredClone(SAMPLE);
  event.name = name;
  event.id = `${SAMPLE.id}-${name}`;
  Object.assign(event.data.checkout, changes);
  return event;
}
