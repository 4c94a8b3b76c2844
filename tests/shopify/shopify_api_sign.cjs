// Sign what Shopify sends us with Shopify's own @shopify/shopify-api library, for the Python tests.
// Reads {nodeModules, apiKey, apiSecret, shop, query, embedIdToken, webhookBodyPath} as JSON on stdin and prints
// {callbackQuery, sessionToken, libraryAcceptsQuery, webhookHmac}.
const {readFileSync} = require("node:fs");
const {createRequire} = require("node:module");
const {dirname, join} = require("node:path");

async function main() {
  const input = JSON.parse(readFileSync(0, "utf8"));
  const load = createRequire(join(input.nodeModules, "noop.js"));
  load("@shopify/shopify-api/adapters/node"); // installs the Node crypto runtime the helpers use
  const {shopifyApi, ApiVersion} = load("@shopify/shopify-api");
  const {getJwt, getHmac} = load("@shopify/shopify-api/test-helpers");
  // The library's own query signer (what shopify.utils.validateHmac compares against): not exported,
  // so it is loaded from the library's build by path.
  const lib = dirname(load.resolve("@shopify/shopify-api"));
  const {generateLocalHmac} = load(join(lib, "utils", "hmac-validator.js"));

  const storeName = input.shop.replace(/\.myshopify\.com$/, "");
  // Real App Bridge tokens name the issuer with its scheme; the helper's default leaves it out.
  const {token} = await getJwt(storeName, input.apiKey, input.apiSecret, {iss: `https://${input.shop}/admin`});

  const config = {apiKey: input.apiKey, apiSecretKey: input.apiSecret};
  const query = {...input.query, shop: input.shop, timestamp: String(Math.trunc(Date.now() / 1000))};
  if (input.embedIdToken) query.id_token = token; // a managed install's App URL load
  query.hmac = await generateLocalHmac(config)(query);
  const shopify = shopifyApi({
    ...config,
    apiVersion: ApiVersion.January25,
    hostName: "app.example.com",
    isEmbeddedApp: true,
    logger: {level: 0, log: () => undefined},
  });
  const libraryAcceptsQuery = await shopify.utils.validateHmac(query);

  const body = input.webhookBodyPath ? readFileSync(input.webhookBodyPath, "utf8") : "";
  process.stdout.write(
    JSON.stringify({callbackQuery: query, sessionToken: token, libraryAcceptsQuery, webhookHmac: getHmac(body, input.apiSecret)}),
  );
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
