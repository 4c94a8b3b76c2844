// Stand-in for @shopify/web-pixels-extension: `register` hands the pixel to the test.
export function register(pixel) {
  globalThis.__followupPixel = pixel;
}
