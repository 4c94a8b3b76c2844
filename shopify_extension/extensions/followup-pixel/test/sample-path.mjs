// The recorded Shopify checkout event the pixel's tests replay.
export const SAMPLE_PATH = new URL(
  "../../../../tests/payloads/shopify_web_pixel_checkout_contact_info_submitted.json",
  import.meta.url,
);
