<?php

declare(strict_types=1);

namespace FollowUp\Recovery\Test\Unit;

use FollowUp\Recovery\Model\Config;
use FollowUp\Recovery\Model\Payload;
use PHPUnit\Framework\TestCase;

final class ObserversTest extends TestCase
{
    private const SECRET = 'whsec_magento_test_secret';
    private Store $store;

    protected function setUp(): void
    {
        $this->store = new Store('https://app.example.com/', 7, self::SECRET);
    }

    public function testSecretIsStoredEncryptedAndReadDecrypted(): void
    {
        $stored = (string) $this->store->scopeConfig->getValue(Config::PATH_SECRET);
        $this->assertStringNotContainsString(self::SECRET, $stored);
        $this->assertSame(self::SECRET, $this->store->secret());
        $this->assertSame('https://app.example.com/webhooks/magento/7', $this->store->config->eventsUrl(1));
    }

    public function testQuoteSaveSendsOneSignedCartUpdatedToTheStoresWebhook(): void
    {
        $quote = $this->store->guestQuote();
        $this->store->quoteSaved()->execute(Store::event(['quote' => $quote]));

        $this->assertCount(1, $this->store->http->sent);
        $sent = $this->store->http->sent[0];
        $this->assertSame('https://app.example.com/webhooks/magento/7', $sent['url']);
        $headers = $sent['headers'];
        $this->assertSame('cart.updated', $headers['X-FollowUp-Event']);
        $this->assertTrue($this->store->signer->verify(self::SECRET, (int) $headers['X-FollowUp-Timestamp'], $sent['body'], $headers['X-FollowUp-Signature']));
        $this->assertLessThanOrEqual(5, abs(time() - (int) $headers['X-FollowUp-Timestamp']));

        $document = json_decode($sent['body'], true);
        $this->assertSame($headers['X-FollowUp-Delivery-Id'], $document['id']);
        $token = $this->store->links->token(self::SECRET, 501);
        $this->assertSame($token, $document['cart']['restore_token']);
        $this->assertSame('https://shop.example.com/followup/cart/restore?token=' . $token, $document['cart']['recovery_url']);
        $this->assertSame(['68.00', '6.80', '5.00', '5.30', '71.50'], [
            $document['cart']['subtotal'], $document['cart']['discount'], $document['cart']['shipping'],
            $document['cart']['tax'], $document['cart']['total'],
        ]);
        $this->assertSame(['WELCOME10'], $document['cart']['coupons']);
        $this->assertSame(['name' => 'Cast Iron Teapot', 'sku' => 'POT-IRON-08-BLK', 'quantity' => 1, 'price' => '39.00',
            'product_id' => '205', 'variation_id' => '206', 'product_url' => 'https://shop.example.com/cast-iron-teapot.html'],
            $document['cart']['items'][1]);
        $this->assertSame('Ana.Lima@Example.com', $document['customer']['email']);
        $this->assertSame('+1 415 555 0100', $document['customer']['phone']);
        $this->assertSame('en_US', $document['cart']['locale']);
        $this->assertStringContainsString('iPhone', $document['user_agent']);
    }

    public function testUnchangedQuoteIsNotSentTwiceButAChangedOneIs(): void
    {
        $quote = $this->store->guestQuote();
        $observer = $this->store->quoteSaved();
        $observer->execute(Store::event(['quote' => $quote]));
        $observer->execute(Store::event(['quote' => $quote]));
        $this->assertCount(1, $this->store->http->sent);

        $quote->setGrandTotal('90.0000');
        $observer->execute(Store::event(['quote' => $quote]));
        $this->assertCount(2, $this->store->http->sent);
        $ids = array_map(static fn (array $r): string => $r['headers']['X-FollowUp-Delivery-Id'], $this->store->http->sent);
        $this->assertNotSame($ids[0], $ids[1]);
    }

    public function testRefusedSendIsRetriedOnTheNextSaveAndLogged(): void
    {
        $this->store->http->answers = [[401, '{"error":"bad_signature"}'], new \RuntimeException('Connection refused')];
        $quote = $this->store->guestQuote();
        $observer = $this->store->quoteSaved();
        $observer->execute(Store::event(['quote' => $quote]));
        $observer->execute(Store::event(['quote' => $quote]));
        $observer->execute(Store::event(['quote' => $quote]));
        $this->assertCount(3, $this->store->http->sent);
        $this->assertSame($this->store->http->sent[0]['headers']['X-FollowUp-Delivery-Id'], $this->store->http->sent[2]['headers']['X-FollowUp-Delivery-Id']);
        $this->assertSame(['warning', 'warning'], array_column($this->store->logger->records, 0));
        $this->assertSame(401, $this->store->logger->records[0][2]['status']);
    }

    public function testNothingIsSentWithoutContactItemsConfigurationOrForInactiveQuotes(): void
    {
        $anonymous = $this->store->guestQuote(502, ['email' => '', 'telephone' => '']);
        $this->store->quoteSaved()->execute(Store::event(['quote' => $anonymous]));

        $ordered = $this->store->guestQuote(503);
        $ordered->setIsActive(0);
        $this->store->quoteSaved()->execute(Store::event(['quote' => $ordered]));

        $empty = $this->store->guestQuote(504);
        $empty->setItems([]);
        $this->store->quoteSaved()->execute(Store::event(['quote' => $empty]));

        $this->store->scopeConfig->values[Config::PATH_ENABLED] = '0';
        $this->store->quoteSaved()->execute(Store::event(['quote' => $this->store->guestQuote(505)]));
        $this->assertSame([], $this->store->http->sent);
    }

    public function testPhoneOnlyShopperIsReachable(): void
    {
        $quote = $this->store->guestQuote(506, ['email' => 'not-an-email']);
        $this->store->quoteSaved()->execute(Store::event(['quote' => $quote]));
        $document = json_decode($this->store->http->sent[0]['body'], true);
        $this->assertArrayNotHasKey('email', $document['customer']);
        $this->assertSame('+1 415 555 0100', $document['customer']['phone']);
    }

    public function testOrderPlacedCarriesTheQuotesRestoreTokenAndWhetherItIsPlaced(): void
    {
        $quote = $this->store->guestQuote();
        $this->store->quoteSaved()->execute(Store::event(['quote' => $quote]));
        $this->store->orderPlaced()->execute(Store::event(['order' => $this->store->order($quote), 'quote' => $quote]));
        $this->store->orderPlaced()->execute(Store::event(['order' => $this->store->order($quote, ['entity_id' => 9002, 'state' => 'pending_payment']), 'quote' => $quote]));

        [, $placed, $pending] = $this->store->http->sent;
        $this->assertSame('order.placed', $placed['headers']['X-FollowUp-Event']);
        $this->assertSame('mage-order-9001-placed', $placed['headers']['X-FollowUp-Delivery-Id']);
        $document = json_decode($placed['body'], true);
        $this->assertSame($this->store->links->token(self::SECRET, 501), $document['cart']['restore_token']);
        $this->assertSame(['id' => '9001', 'number' => '000000042', 'state' => 'new', 'status' => 'pending', 'placed' => true,
            'total' => '71.50', 'currency' => 'USD', 'coupons' => ['WELCOME10'], 'created_at' => '2026-12-02T18:30:05Z'], $document['order']);
        $this->assertFalse(json_decode($pending['body'], true)['order']['placed']);
        $this->assertSame('mage-order-9002-pending', $pending['headers']['X-FollowUp-Delivery-Id']);
        $this->assertArrayNotHasKey('followup_cart_501', $this->store->cache->entries);
    }

    public function testMultishippingOrdersAreEachSent(): void
    {
        $quote = $this->store->guestQuote();
        $orders = [$this->store->order($quote), $this->store->order($quote, ['entity_id' => 9003])];
        $this->store->orderPlaced()->execute(Store::event(['orders' => $orders, 'quote' => $quote]));
        $this->assertSame(['mage-order-9001-placed', 'mage-order-9003-placed'],
            array_map(static fn (array $r): string => $r['headers']['X-FollowUp-Delivery-Id'], $this->store->http->sent));
    }

    public function testMoneyIsRoundedFromDecimalStringsWithoutFloats(): void
    {
        $this->assertSame('71.50', Payload::money('71.5000'));
        $this->assertSame('0.01', Payload::money('0.0050'));
        $this->assertSame('10.00', Payload::money('9.9950'));
        $this->assertSame('-6.80', Payload::money('-6.8000'));
        $this->assertSame('5.00', Payload::money(5));
        $this->assertSame('0.00', Payload::money('abc'));
        $this->assertSame('0.00', Payload::money(null));
        $this->assertSame(1_234_567_891_235, Payload::units('123456789.12345'));
    }

    public function testDiscountIsSubtractedInExactDecimals(): void
    {
        $quote = $this->store->guestQuote();
        $quote->setSubtotal('0.3000');
        $quote->setSubtotalWithDiscount('0.1000');
        $cart = $this->store->payload->cart($quote, 't', 'u', 'en_US');
        $this->assertSame(['0.30', '0.20'], [$cart['subtotal'], $cart['discount']]);
    }
}
