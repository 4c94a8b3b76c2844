<?php
/**
 * Restore tokens and restore links.
 *
 * The module names a quote with a token "q{quote id}.{128-bit HMAC}" that only this store's
 * secret can mint. The app builds the link a shopper follows,
 * /followup/cart/restore?token=T&expires=E[&discount=CODE]&signature=S, signing the token, the
 * expiry and the discount code with the same secret; this class checks both before a quote is touched.
 */

declare(strict_types=1);

namespace FollowUp\Recovery\Model;

class RestoreLink
{
    public const PATH = 'followup/cart/restore';
    public const TOKEN_PATTERN = '/^q([1-9][0-9]{0,18})\.([A-Za-z0-9_-]{22})$/';
    /** A link older than this is refused even when signed (the app makes them valid for a day). */
    public const MAX_LIFETIME_SECONDS = 7 * 86400;

    public const OK = 'ok';
    public const INVALID = 'invalid';
    public const EXPIRED = 'expired';

    public function token(string $secret, int $quoteId): string
    {
        return 'q' . $quoteId . '.' . $this->tokenSignature($secret, (string) $quoteId);
    }

    /**
     * The quote id of a token this secret minted, else null (checked in constant time).
     */
    public function quoteId(string $secret, mixed $token): ?int
    {
        if ($secret === '' || !is_string($token) || !preg_match(self::TOKEN_PATTERN, $token, $match)) {
            return null;
        }
        return hash_equals($this->tokenSignature($secret, $match[1]), $match[2]) ? (int) $match[1] : null;
    }

    /**
     * The unsigned restore address sent with each cart as its recovery_url; the app signs it.
     */
    public function recoveryUrl(string $baseUrl, string $token): string
    {
        return rtrim($baseUrl, '/') . '/' . self::PATH . '?' . http_build_query(['token' => $token]);
    }

    /**
     * What the app signs: purpose, token, expiry and discount code, so none can be changed.
     */
    public function linkSignature(string $secret, string $token, int $expires, string $discount): string
    {
        $signed = 'followup-restore-link:' . $token . ':' . $expires . ':' . $discount;
        return self::b64url(hash_hmac('sha256', $signed, $secret, true));
    }

    /**
     * OK, INVALID (not signed by this store's secret) or EXPIRED, for the link's query parameters.
     *
     * @param array<string, mixed> $params
     */
    public function check(string $secret, array $params, int $now): string
    {
        $token = $params['token'] ?? null;
        $expires = $params['expires'] ?? null;
        $signature = $params['signature'] ?? null;
        $discount = $params['discount'] ?? '';
        if ($secret === '' || !is_string($token) || !is_string($signature) || !is_string($discount)
            || !is_string($expires) || !ctype_digit($expires) || strlen($expires) > 12
        ) {
            return self::INVALID;
        }
        if (!hash_equals($this->linkSignature($secret, $token, (int) $expires, $discount), $signature)) {
            return self::INVALID;
        }
        if ((int) $expires < $now || (int) $expires > $now + self::MAX_LIFETIME_SECONDS) {
            return self::EXPIRED;
        }
        return $this->quoteId($secret, $token) === null ? self::INVALID : self::OK;
    }

    private function tokenSignature(string $secret, string $quoteId): string
    {
        return self::b64url(substr(hash_hmac('sha256', 'followup-restore:' . $quoteId, $secret, true), 0, 16));
    }

    private static function b64url(string $bytes): string
    {
        return rtrim(strtr(base64_encode($bytes), '+/', '-_'), '=');
    }
}
