<?php

declare(strict_types=1);

namespace FollowUp\Recovery\Test\Unit;

use FollowUp\Recovery\Model\Signer;
use PHPUnit\Framework\TestCase;

final class SignerTest extends TestCase
{
    public function testSignatureMatchesTheAppsSchemeOverTimestampDotBody(): void
    {
        // base64(HMAC-SHA256("whsec_vector", "1764700000.{\"a\":1}")), computed with Python's hmac.
        $this->assertSame('PjbcTqPFnJVU5VLfs35/bEu1jLXzpwWFhXqug1FCQ3E=', (new Signer())->sign('whsec_vector', 1764700000, '{"a":1}'));
    }

    public function testVerifyRefusesEditsOtherTimesAndAnEmptySecret(): void
    {
        $signer = new Signer();
        $signature = $signer->sign('s3cret', 100, '{"total":"71.50"}');
        $this->assertTrue($signer->verify('s3cret', 100, '{"total":"71.50"}', $signature));
        $this->assertFalse($signer->verify('s3cret', 100, '{"total":"1.50"}', $signature));
        $this->assertFalse($signer->verify('s3cret', 101, '{"total":"71.50"}', $signature));
        $this->assertFalse($signer->verify('', 100, '{"total":"71.50"}', $signer->sign('', 100, '{"total":"71.50"}')));
    }

    public function testHeadersCarryEventDeliveryTimestampAndSignature(): void
    {
        $headers = (new Signer())->headers('whsec_vector', 'cart.updated', '{"a":1}', 'mage-quote-5-abc', 1764700000);
        $this->assertSame('cart.updated', $headers['X-FollowUp-Event']);
        $this->assertSame('1764700000', $headers['X-FollowUp-Timestamp']);
        $this->assertSame('mage-quote-5-abc', $headers['X-FollowUp-Delivery-Id']);
        $this->assertSame('PjbcTqPFnJVU5VLfs35/bEu1jLXzpwWFhXqug1FCQ3E=', $headers['X-FollowUp-Signature']);
        $this->assertSame('application/json', $headers['Content-Type']);
    }
}
