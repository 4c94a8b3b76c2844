<?php
/**
 * Builds the JSON documents the app reads (see app/integrations/woocommerce/normalize.py).
 *
 * Amounts travel as decimal strings so no float ever touches money.
 *
 * @package FollowUp
 */

defined( 'ABSPATH' ) || exit;

/**
 * Cart and order payloads.
 */
class FollowUp_Payload {

	/**
	 * Order statuses that mean the shopper committed to buy.
	 *
	 * @var string[]
	 */
	const PLACED_STATUSES = array( 'processing', 'completed', 'on-hold' );

	/**
	 * Offline payment methods: the order is placed although no money has moved yet.
	 *
	 * @var string[]
	 */
	const OFFLINE_METHODS = array( 'cod', 'bacs', 'cheque' );

	/**
	 * Statuses that never count as a purchase, whatever the payment method.
	 *
	 * @var string[]
	 */
	const DEAD_STATUSES = array( 'failed', 'cancelled', 'refunded', 'checkout-draft', 'auto-draft', 'trash' );

	/**
	 * The non-personal cart part: items, totals, coupons and the restore link.
	 *
	 * @param object $cart         WC_Cart (or anything with its getters).
	 * @param string $token        Restore token.
	 * @param string $recovery_url Link that restores this cart.
	 * @return array
	 */
	public static function cart( $cart, $token, $recovery_url ) {
		$items = array();
		foreach ( $cart->get_cart() as $line ) {
			$item = self::item( $line );
			if ( null !== $item ) {
				$items[] = $item;
			}
		}
		return array(
			'restore_token' => (string) $token,
			'cart_hash'     => (string) $cart->get_cart_hash(),
			'currency'      => get_woocommerce_currency(),
			'locale'        => get_locale(),
			'subtotal'      => self::money( $cart->get_subtotal() ),
			'discount'      => self::money( $cart->get_discount_total() ),
			'shipping'      => self::money( $cart->get_shipping_total() ),
			'tax'           => self::money( $cart->get_total_tax() ),
			'total'         => self::money( $cart->get_total( 'edit' ) ),
			'coupons'       => array_values( array_map( 'strval', $cart->get_applied_coupons() ) ),
			'recovery_url'  => (string) $recovery_url,
			'items'         => $items,
		);
	}

	/**
	 * One cart line; the unit price is before coupons, as the shopper saw it on the product page.
	 *
	 * @param array $line Cart item array.
	 * @return array|null
	 */
	public static function item( array $line ) {
		$product = isset( $line['data'] ) ? $line['data'] : null;
		if ( ! is_object( $product ) ) {
			return null;
		}
		$quantity = max( 1, (int) $line['quantity'] );
		$subtotal = isset( $line['line_subtotal'] ) ? (string) $line['line_subtotal'] : (string) $product->get_price();
		$image    = $product->get_image_id() ? wp_get_attachment_image_url( $product->get_image_id(), 'woocommerce_thumbnail' ) : '';
		return array(
			'product_id'   => (int) $line['product_id'],
			'variation_id' => isset( $line['variation_id'] ) ? (int) $line['variation_id'] : 0,
			'name'         => wp_strip_all_tags( $product->get_name() ),
			'variant'      => self::variant( isset( $line['variation'] ) ? (array) $line['variation'] : array() ),
			'sku'          => (string) $product->get_sku(),
			'quantity'     => $quantity,
			'price'        => self::money( self::divide( $subtotal, $quantity ) ),
			'image_url'    => $image ? (string) $image : '',
			'product_url'  => (string) $product->get_permalink(),
		);
	}

	/**
	 * The customer block from what the shopper typed (or the order's billing details).
	 *
	 * @param array $contact Keys email, phone, first_name, last_name, country, state, timezone, sms_consent,
	 *                       and birthday and user_id, which FollowUp_Birthday::of_contact() reads.
	 * @return array
	 */
	public static function customer( array $contact ) {
		$consent = array_key_exists( 'sms_consent', $contact ) && is_bool( $contact['sms_consent'] ) ? $contact['sms_consent'] : null;
		$out     = array(
			'email'         => '',
			'phone'         => '',
			'first_name'    => '',
			'last_name'     => '',
			'country'       => '',
			'state'         => '',
			'timezone'      => '',
			'locale'        => get_locale(),
			'email_consent' => null,
			'sms_consent'   => $consent,
			'birthday'      => FollowUp_Birthday::of_contact( $contact ),
		);
		foreach ( array( 'email', 'phone', 'first_name', 'last_name', 'country', 'state', 'timezone' ) as $key ) {
			$out[ $key ] = isset( $contact[ $key ] ) ? (string) $contact[ $key ] : '';
		}
		return $out;
	}

	/**
	 * A cart.updated document.
	 *
	 * @param string $delivery_id Delivery id, also the event id.
	 * @param array  $cart        Output of cart().
	 * @param array  $contact     Contact fields.
	 * @param string $device      mobile, desktop or unknown.
	 * @param int    $now         Unix seconds.
	 * @return array
	 */
	public static function cart_event( $delivery_id, array $cart, array $contact, $device, $now ) {
		return array(
			'type'        => 'cart.updated',
			'id'          => (string) $delivery_id,
			'occurred_at' => gmdate( 'Y-m-d\TH:i:s\Z', (int) $now ),
			'device'      => (string) $device,
			'cart'        => $cart,
			'customer'    => self::customer( $contact ),
		);
	}

	/**
	 * A checkout.exited document: the shopper left the checkout page (pagehide or tab hidden).
	 *
	 * @param string $delivery_id Delivery id.
	 * @param string $token       The session's restore token, which is the app's checkout token.
	 * @param int    $exited_at   Unix seconds when the page was left.
	 * @return array
	 */
	public static function exit_event( $delivery_id, $token, $exited_at ) {
		return array(
			'type'        => 'checkout.exited',
			'id'          => (string) $delivery_id,
			'occurred_at' => gmdate( 'Y-m-d\TH:i:s\Z', (int) $exited_at ),
			'device'      => 'unknown',
			'cart'        => array( 'restore_token' => (string) $token ),
		);
	}

	/**
	 * An order.placed document; restore token and cart hash let the app find the checkout.
	 *
	 * @param object $order       WC_Order.
	 * @param string $delivery_id Delivery id.
	 * @param string $token       Restore token recorded on the order ('' when none).
	 * @param int    $now         Unix seconds.
	 * @return array
	 */
	public static function order_event( $order, $delivery_id, $token, $now ) {
		$created = $order->get_date_created();
		$status  = (string) $order->get_status();
		return array(
			'type'        => 'order.placed',
			'id'          => (string) $delivery_id,
			'occurred_at' => gmdate( 'Y-m-d\TH:i:s\Z', (int) $now ),
			'device'      => 'unknown',
			'cart'        => array(
				'restore_token' => (string) $token,
				'cart_hash'     => (string) $order->get_cart_hash(),
				'currency'      => (string) $order->get_currency(),
			),
			'customer'    => self::customer(
				array(
					'email'      => $order->get_billing_email(),
					'phone'      => $order->get_billing_phone(),
					'first_name' => $order->get_billing_first_name(),
					'last_name'  => $order->get_billing_last_name(),
					'country'    => $order->get_billing_country(),
					'state'      => $order->get_billing_state(),
					'birthday'   => FollowUp_Birthday::of_order( $order ),
					'user_id'    => $order->get_customer_id(),
				)
			),
			'order'       => array(
				'id'             => (string) $order->get_id(),
				'number'         => (string) $order->get_order_number(),
				'status'         => $status,
				'placed'         => self::is_placed( $status, (string) $order->get_payment_method() ),
				'total'          => self::money( $order->get_total() ),
				'currency'       => (string) $order->get_currency(),
				'created_at'     => gmdate( 'Y-m-d\TH:i:s\Z', $created ? $created->getTimestamp() : (int) $now ),
				'coupons'        => array_values( array_map( 'strval', $order->get_coupon_codes() ) ),
				'payment_method' => (string) $order->get_payment_method(),
			),
		);
	}

	/**
	 * Paid, on-hold and offline-payment orders stop reminders; pending online payments do not.
	 *
	 * @param string $status         Order status without the wc- prefix.
	 * @param string $payment_method Gateway id.
	 * @return bool
	 */
	public static function is_placed( $status, $payment_method ) {
		if ( in_array( $status, self::DEAD_STATUSES, true ) ) {
			return false;
		}
		return in_array( $status, self::PLACED_STATUSES, true ) || in_array( $payment_method, self::OFFLINE_METHODS, true );
	}

	/**
	 * Variation attributes as "Green, Large".
	 *
	 * @param array $attributes attribute_pa_color => green.
	 * @return string
	 */
	private static function variant( array $attributes ) {
		$values = array();
		foreach ( $attributes as $value ) {
			if ( is_scalar( $value ) && '' !== (string) $value ) {
				$values[] = ucfirst( str_replace( '-', ' ', sanitize_text_field( (string) $value ) ) );
			}
		}
		return implode( ', ', $values );
	}

	/**
	 * Decimal string with the store's precision.
	 *
	 * @param mixed $amount Number or numeric string.
	 * @return string
	 */
	public static function money( $amount ) {
		return wc_format_decimal( (string) $amount, wc_get_price_decimals() );
	}

	/**
	 * Exact division of a decimal string, with bcmath when present.
	 *
	 * @param string $amount   Decimal string.
	 * @param int    $quantity Divisor.
	 * @return string
	 */
	private static function divide( $amount, $quantity ) {
		if ( function_exists( 'bcdiv' ) ) {
			return bcdiv( $amount, (string) $quantity, 6 );
		}
		return sprintf( '%.6F', (float) $amount / $quantity );
	}
}
