<?php
/**
 * Contract helper for the app's pytest suite: runs the module's own classes against the shim and
 * prints what they did as JSON, so Python can post the exact signed bytes to the app, or check
 * that a restore link the app built opens the cart.
 *
 * Usage: php run.php cart|order|restore APP_URL STORE_ID SECRET [ARG]
 *   cart    ARG = JSON of contact overrides (email, telephone, ...)    → {url, headers, body, token}
 *   order   ARG = JSON of order fields (entity_id, state, ...)         → {url, headers, body, token}
 *   restore ARG = the restore URL the app built; quote 501 is the cart → {path, redirect, quote_id, coupon, messages}
 *           (ARG may be prefixed "ordered:" for a quote already converted into an order)
 */

declare(strict_types=1);

require __DIR__ . '/../bootstrap.php';

use FollowUp\Recovery\Test\Unit\Store;
use Magento\Quote\Model\Quote;

[, $mode, $appUrl, $storeId, $secret] = $argv;
$arg = $argv[5] ?? '';
$store = new Store($appUrl, (int) $storeId, $secret);
Quote::$validCoupons = ['WELCOME10', 'SAVE10'];

if ($mode === 'cart' || $mode === 'order') {
    $fields = $arg === '' ? [] : (array) json_decode($arg, true);
    $quote = $store->guestQuote(501, $mode === 'cart' ? $fields : []);
    if ($mode === 'cart') {
        $store->quoteSaved()->execute(Store::event(['quote' => $quote]));
    } else {
        $store->orderPlaced()->execute(Store::event(['order' => $store->order($quote, $fields), 'quote' => $quote]));
    }
    $sent = $store->http->sent[0] ?? null;
    if ($sent === null) {
        fwrite(STDERR, "nothing was sent\n" . json_encode($store->logger->records));
        exit(1);
    }
    echo json_encode($sent + ['token' => $store->links->token($secret, 501)], JSON_UNESCAPED_SLASHES);
    exit(0);
}

if ($mode === 'restore') {
    $quote = $store->guestQuote(501);
    $quote->setCouponCode(null);
    if (str_starts_with($arg, 'ordered:')) {
        $quote->setIsActive(0);
        $arg = substr($arg, strlen('ordered:'));
    }
    parse_str((string) parse_url($arg, PHP_URL_QUERY), $params);
    $redirect = $store->restore($params)->execute();
    echo json_encode([
        'path' => parse_url($arg, PHP_URL_PATH),
        'redirect' => $redirect->path,
        'quote_id' => $store->checkoutSession->getQuoteId(),
        'coupon' => $quote->getCouponCode(),
        'messages' => $store->messages->messages,
    ], JSON_UNESCAPED_SLASHES);
    exit(0);
}

fwrite(STDERR, "unknown mode $mode\n");
exit(2);
