<?php
/**
 * The JSON documents the app ingests: cart.updated from a quote, order.placed from an order.
 *
 * Field names follow our WooCommerce plugin's events, so the app reads one shape of cart.
 */

declare(strict_types=1);

namespace FollowUp\Recovery\Model;

use Magento\Quote\Model\Quote;
use Magento\Sales\Model\Order;

class Payload
{
    public const MAX_ITEMS = 100;
    /** Orders waiting for an off-site payment (redirect gateways) are not placed yet. */
    public const UNPAID_STATES = ['pending_payment', 'payment_review', 'canceled'];

    /**
     * @return array<string, mixed>
     */
    public function cart(Quote $quote, string $token, string $recoveryUrl, string $locale): array
    {
        $address = $quote->isVirtual() ? $quote->getBillingAddress() : $quote->getShippingAddress();
        $subtotal = $quote->getSubtotal();
        $discounted = $quote->getSubtotalWithDiscount();
        $items = [];
        foreach (array_slice($quote->getAllVisibleItems(), 0, self::MAX_ITEMS) as $item) {
            $children = $item->getChildren();
            $product = $item->getProduct();
            $items[] = [
                'name' => (string) $item->getName(),
                'sku' => (string) $item->getSku(),
                'quantity' => max(1, (int) $item->getQty()),
                'price' => self::money($item->getPrice()),
                'product_id' => (string) $item->getProductId(),
                'variation_id' => $children ? (string) $children[0]->getProductId() : null,
                'product_url' => $product ? (string) $product->getProductUrl() : null,
            ];
        }
        $coupon = (string) $quote->getCouponCode();
        return [
            'quote_id' => (int) $quote->getId(),
            'restore_token' => $token,
            'recovery_url' => $recoveryUrl,
            'currency' => (string) $quote->getQuoteCurrencyCode(),
            'locale' => $locale,
            'items' => $items,
            'subtotal' => self::money($subtotal),
            'discount' => self::cents($discounted === null ? 0 : self::units($subtotal) - self::units($discounted)),
            'shipping' => self::money($address ? $address->getShippingAmount() : 0),
            'tax' => self::money($address ? $address->getTaxAmount() : 0),
            'total' => self::money($quote->getGrandTotal()),
            'coupons' => $coupon === '' ? [] : [$coupon],
        ];
    }

    /**
     * Who the shopper is, from what checkout has collected so far (guest email, then addresses).
     *
     * @return array<string, string>
     */
    public function customer(Quote $quote): array
    {
        $billing = $quote->getBillingAddress();
        $shipping = $quote->getShippingAddress();
        $pick = static function (string $getter) use ($billing, $shipping): string {
            foreach ([$billing, $shipping] as $address) {
                $value = $address ? trim((string) $address->{$getter}()) : '';
                if ($value !== '') {
                    return $value;
                }
            }
            return '';
        };
        $email = trim((string) $quote->getCustomerEmail()) ?: $pick('getEmail');
        return array_filter([
            'email' => filter_var($email, FILTER_VALIDATE_EMAIL) ? $email : '',
            'phone' => $pick('getTelephone'),
            'first_name' => trim((string) $quote->getCustomerFirstname()) ?: $pick('getFirstname'),
            'last_name' => trim((string) $quote->getCustomerLastname()) ?: $pick('getLastname'),
            'country' => $pick('getCountryId'),
            'state' => $pick('getRegionCode'),
        ], static fn (string $value): bool => $value !== '');
    }

    /**
     * @param array<string, mixed> $cart
     * @param array<string, string> $customer
     * @return array<string, mixed>
     */
    public function cartEvent(string $deliveryId, array $cart, array $customer, string $userAgent, int $now): array
    {
        return [
            'type' => 'cart.updated',
            'id' => $deliveryId,
            'occurred_at' => gmdate('Y-m-d\TH:i:s\Z', $now),
            'platform' => 'magento',
            'user_agent' => substr($userAgent, 0, 512),
            'customer' => $customer,
            'cart' => $cart,
        ];
    }

    /**
     * @return array<string, mixed>
     */
    public function orderEvent(string $deliveryId, Order $order, string $token, int $now): array
    {
        $billing = $order->getBillingAddress();
        $state = (string) $order->getState();
        $coupon = (string) $order->getCouponCode();
        $customer = array_filter([
            'email' => (string) $order->getCustomerEmail(),
            'phone' => $billing ? (string) $billing->getTelephone() : '',
            'first_name' => $billing ? (string) $billing->getFirstname() : '',
            'last_name' => $billing ? (string) $billing->getLastname() : '',
            'country' => $billing ? (string) $billing->getCountryId() : '',
        ], static fn (string $value): bool => $value !== '');
        return [
            'type' => 'order.placed',
            'id' => $deliveryId,
            'occurred_at' => gmdate('Y-m-d\TH:i:s\Z', $now),
            'platform' => 'magento',
            'customer' => $customer,
            'cart' => ['quote_id' => (int) $order->getQuoteId(), 'restore_token' => $token],
            'order' => [
                'id' => (string) $order->getId(),
                'number' => (string) $order->getIncrementId(),
                'state' => $state,
                'status' => (string) $order->getStatus(),
                'placed' => !in_array($state, self::UNPAID_STATES, true),
                'total' => self::money($order->getGrandTotal()),
                'currency' => (string) $order->getOrderCurrencyCode(),
                'coupons' => $coupon === '' ? [] : [$coupon],
                'created_at' => self::utc((string) $order->getCreatedAt(), $now),
            ],
        ];
    }

    /**
     * Magento keeps amounts as DECIMAL(20,4) strings; sent with two decimals, never through floats.
     */
    public static function money(mixed $value): string
    {
        return self::cents(self::units($value));
    }

    /**
     * An amount in ten-thousandths (DECIMAL(20,4)), as an integer; 0 when it is not a number.
     */
    public static function units(mixed $value): int
    {
        $text = is_string($value) ? trim($value) : (is_int($value) || is_float($value) ? sprintf('%.4F', $value) : '0');
        if (!preg_match('/^(-?)(\d{1,14})(?:\.(\d*))?$/', $text, $m)) {
            return 0;
        }
        $fraction = substr(str_pad($m[3] ?? '', 5, '0'), 0, 5);
        $units = (int) $m[2] * 10000 + intdiv((int) $fraction + 5, 10); // half up at the fifth decimal
        return $m[1] === '-' ? -$units : $units;
    }

    /**
     * Ten-thousandths rounded half away from zero to cents, as "12.34".
     */
    private static function cents(int $units): string
    {
        $cents = intdiv(abs($units) + 50, 100);
        $sign = $units < 0 && $cents > 0 ? '-' : '';
        return $sign . intdiv($cents, 100) . '.' . str_pad((string) ($cents % 100), 2, '0', STR_PAD_LEFT);
    }

    /**
     * Magento stores created_at in UTC as "Y-m-d H:i:s".
     */
    private static function utc(string $stored, int $fallback): string
    {
        $time = $stored === '' ? false : strtotime($stored . ' UTC');
        return gmdate('Y-m-d\TH:i:s\Z', $time === false ? $fallback : $time);
    }
}
