// Module hook: resolve Shopify's package to the fake, so src/index.js loads unchanged.
export async function resolve(specifier, context, next) {
  if (specifier === "@shopify/web-pixels-extension") {
    return {url: new URL("./fake-web-pixels-extension.mjs", import.meta.url).href, shortCircuit: true};
  }
  return next(specifier, context);
}
