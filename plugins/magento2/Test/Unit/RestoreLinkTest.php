<?php

declare(strict_types=1);

namespace FollowUp\Recovery\Test\Unit;

use FollowUp\Recovery\Model\RestoreLink;
use PHPUnit\Framework\TestCase;

final class RestoreLinkTest extends TestCase
{
    private const SECRET = 'whsec_vector';

    public function testTokenNamesTheQuoteWithAnHmacOnlyThisSecretMints(): void
    {
        $links = new RestoreLink();
        // "q501." + base64url(HMAC-SHA256(secret, "followup-restore:501")[:16]), computed with Python.
        $this->assertSame('q501.m8zTXi0IWLLDg5z1CosKGw', $links->token(self::SECRET, 501));
        $this->assertSame(501, $links->quoteId(self::SECRET, 'q501.m8zTXi0IWLLDg5z1CosKGw'));
        $this->assertNull($links->quoteId('another_secret', 'q501.m8zTXi0IWLLDg5z1CosKGw'));
        $this->assertNull($links->quoteId(self::SECRET, 'q502.m8zTXi0IWLLDg5z1CosKGw'));
        $this->assertNull($links->quoteId(self::SECRET, 'q501.m8zTXi0IWLLDg5z1CosKGw '));
        $this->assertNull($links->quoteId(self::SECRET, ['q501.m8zTXi0IWLLDg5z1CosKGw']));
        $this->assertNull($links->quoteId('', 'q501.m8zTXi0IWLLDg5z1CosKGw'));
    }

    public function testRecoveryUrlIsTheStoresOwnRestoreRoute(): void
    {
        $this->assertSame(
            'https://shop.example.com/followup/cart/restore?token=q501.m8zTXi0IWLLDg5z1CosKGw',
            (new RestoreLink())->recoveryUrl('https://shop.example.com/', 'q501.m8zTXi0IWLLDg5z1CosKGw')
        );
    }

    public function testCheckAcceptsOnlyAnUnexpiredLinkSignedOverTokenExpiryAndCode(): void
    {
        $links = new RestoreLink();
        $token = $links->token(self::SECRET, 501);
        $now = 1_764_700_000;
        $expires = $now + 3600;
        $params = ['token' => $token, 'expires' => (string) $expires, 'discount' => 'SAVE10',
            'signature' => $links->linkSignature(self::SECRET, $token, $expires, 'SAVE10')];
        $this->assertSame(RestoreLink::OK, $links->check(self::SECRET, $params, $now));
        $this->assertSame(RestoreLink::INVALID, $links->check(self::SECRET, ['discount' => 'SAVE90'] + $params, $now));
        $this->assertSame(RestoreLink::INVALID, $links->check(self::SECRET, ['expires' => (string) ($expires + 1)] + $params, $now));
        $this->assertSame(RestoreLink::INVALID, $links->check('other', $params, $now));
        $this->assertSame(RestoreLink::INVALID, $links->check(self::SECRET, array_diff_key($params, ['signature' => 1]), $now));
        $this->assertSame(RestoreLink::EXPIRED, $links->check(self::SECRET, $params, $expires + 1));

        $noCode = ['token' => $token, 'expires' => (string) $expires, 'signature' => $links->linkSignature(self::SECRET, $token, $expires, '')];
        $this->assertSame(RestoreLink::OK, $links->check(self::SECRET, $noCode, $now));
        $this->assertSame(RestoreLink::INVALID, $links->check(self::SECRET, $noCode + ['discount' => 'FREE'], $now));

        $forgedToken = 'q777.' . str_repeat('A', 22);
        $signedForged = ['token' => $forgedToken, 'expires' => (string) $expires, 'signature' => $links->linkSignature(self::SECRET, $forgedToken, $expires, '')];
        $this->assertSame(RestoreLink::INVALID, $links->check(self::SECRET, $signedForged, $now));

        $farFuture = $now + RestoreLink::MAX_LIFETIME_SECONDS + 60;
        $tooLong = ['token' => $token, 'expires' => (string) $farFuture, 'signature' => $links->linkSignature(self::SECRET, $token, $farFuture, '')];
        $this->assertSame(RestoreLink::EXPIRED, $links->check(self::SECRET, $tooLong, $now));
    }
}
