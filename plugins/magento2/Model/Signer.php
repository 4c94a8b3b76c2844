<?php
/**
 * Signs events exactly as the app verifies them, the scheme our WooCommerce plugin uses:
 * X-FollowUp-Signature = base64(HMAC-SHA256(secret, "{timestamp}.{body}")).
 */

declare(strict_types=1);

namespace FollowUp\Recovery\Model;

class Signer
{
    public function sign(string $secret, int $timestamp, string $body): string
    {
        return base64_encode(hash_hmac('sha256', $timestamp . '.' . $body, $secret, true));
    }

    public function verify(string $secret, int $timestamp, string $body, string $signature): bool
    {
        return $secret !== '' && hash_equals($this->sign($secret, $timestamp, $body), $signature);
    }

    /**
     * Headers for one delivery: the delivery id stays the same across resends so the app
     * stores it once; the timestamp is fresh for every attempt.
     *
     * @return array<string, string>
     */
    public function headers(string $secret, string $event, string $body, string $deliveryId, int $timestamp): array
    {
        return [
            'Content-Type' => 'application/json',
            'User-Agent' => 'FollowUp-Magento',
            'X-FollowUp-Event' => $event,
            'X-FollowUp-Timestamp' => (string) $timestamp,
            'X-FollowUp-Delivery-Id' => $deliveryId,
            'X-FollowUp-Signature' => $this->sign($secret, $timestamp, $body),
        ];
    }
}
