<?php

declare(strict_types=1);

namespace FollowUp\Recovery\Test\Unit;

use Magento\Quote\Model\Quote;
use PHPUnit\Framework\TestCase;

final class RestoreTest extends TestCase
{
    private const SECRET = 'whsec_magento_test_secret';
    private Store $store;

    protected function setUp(): void
    {
        $this->store = new Store('https://app.example.com', 7, self::SECRET);
        Quote::$validCoupons = ['SAVE10'];
    }

    /** @return array<string, string> */
    private function link(int $quoteId, string $discount = '', int $ttl = 86400): array
    {
        $token = $this->store->links->token(self::SECRET, $quoteId);
        $expires = time() + $ttl;
        $params = ['token' => $token, 'expires' => (string) $expires,
            'signature' => $this->store->links->linkSignature(self::SECRET, $token, $expires, $discount)];
        return $discount === '' ? $params : $params + ['discount' => $discount];
    }

    public function testSignedLinkPutsTheQuoteInTheSessionWithTheCodeAndGoesToCheckout(): void
    {
        $quote = $this->store->guestQuote();
        $quote->setCouponCode(null);
        $redirect = $this->store->restore($this->link(501, 'SAVE10'))->execute();
        $this->assertSame('checkout', $redirect->path);
        $this->assertSame(501, $this->store->checkoutSession->getQuoteId());
        $this->assertSame('SAVE10', $quote->getCouponCode());
        $this->assertSame(1, $this->store->quotes->saves);
        $this->assertSame([], $this->store->messages->messages);
    }

    public function testACodeTheStoreRefusesLeavesTheCartRestoredWithAWarning(): void
    {
        $this->store->guestQuote();
        $redirect = $this->store->restore($this->link(501, 'NOPE'))->execute();
        $this->assertSame('checkout', $redirect->path);
        $this->assertSame([['warning', 'The code NOPE could not be applied to this cart.']], $this->store->messages->messages);
    }

    public function testTamperedForeignAndExpiredLinksChangeNothing(): void
    {
        $this->store->guestQuote();
        $tampered = ['discount' => 'SAVE90'] + $this->link(501, 'SAVE10');
        $cases = [
            'invalid' => [$tampered, $this->link(999), ['token' => 'q501.' . str_repeat('A', 22)] + $this->link(501), []],
            'expired' => [$this->link(501, '', -10)],
        ];
        foreach ($cases as $expected => $links) {
            foreach ($links as $params) {
                $this->store->messages->messages = [];
                $redirect = $this->store->restore($params)->execute();
                $this->assertSame('checkout/cart', $redirect->path, $expected);
                $this->assertSame('error', $this->store->messages->messages[0][0]);
                $this->assertStringContainsString($expected === 'expired' ? 'expired' : 'not valid', $this->store->messages->messages[0][1]);
            }
        }
        $this->assertNull($this->store->checkoutSession->getQuoteId());
        $this->assertSame(0, $this->store->quotes->saves);
    }

    public function testLinkSignedWithAnotherSecretIsRefused(): void
    {
        $this->store->guestQuote();
        $other = new Store('https://app.example.com', 7, 'whsec_someone_else');
        $token = $other->links->token('whsec_someone_else', 501);
        $expires = time() + 600;
        $params = ['token' => $token, 'expires' => (string) $expires, 'signature' => $other->links->linkSignature('whsec_someone_else', $token, $expires, '')];
        $this->assertSame('invalid', $this->store->restore($params)->restore());
    }

    public function testOrderedQuoteSaysUsedAndAnotherStoreViewsQuoteIsInvalid(): void
    {
        $this->store->guestQuote()->setIsActive(0);
        $this->assertSame('used', $this->store->restore($this->link(501))->restore());
        $this->store->guestQuote(601)->setStoreId(2);
        $this->assertSame('invalid', $this->store->restore($this->link(601))->restore());
        $this->assertNull($this->store->checkoutSession->getQuoteId());
    }

    public function testCustomersCartAsksForTheirLoginThenOpensForThem(): void
    {
        $this->store->guestQuote()->setCustomerId(44);
        $redirect = $this->store->restore($this->link(501))->execute();
        $this->assertSame('customer/account/login', $redirect->path);
        $this->assertSame('https://shop.example.com/checkout/', $this->store->customerSession->getBeforeAuthUrl());
        $this->assertNull($this->store->checkoutSession->getQuoteId());

        $this->store->customerSession->setCustomerId(44);
        $this->assertSame('checkout', $this->store->restore($this->link(501))->execute()->path);
        $this->assertSame(501, $this->store->checkoutSession->getQuoteId());
    }

    public function testUnconfiguredModuleRestoresNothing(): void
    {
        $this->store->guestQuote();
        $this->store->scopeConfig->values['followup/connection/enabled'] = '0';
        $this->assertSame('invalid', $this->store->restore($this->link(501))->restore());
    }
}
