<?php
/**
 * One-click restore: a signed token in the magic link rebuilds the cart and pre-fills checkout.
 *
 * WordPress keeps no copy of the cart or the contact: after the token's signature is checked
 * (constant time), the app, which already holds the checkout, sends both back over a signed call.
 *
 * @package FollowUp
 */

defined( 'ABSPATH' ) || exit;

/**
 * Handles ?followup_restore=TOKEN[&discount=CODE].
 */
class FollowUp_Restore {

	const PARAM          = 'followup_restore';
	const DISCOUNT_PARAM = 'discount';
	const CHAT_PARAM     = 'fu_chat';
	const MAX_LINES      = 100;

	const RESTORED    = 'restored';
	const INVALID     = 'invalid';
	const USED        = 'used';
	const UNAVAILABLE = 'unavailable';

	/**
	 * Settings.
	 *
	 * @var FollowUp_Settings
	 */
	private $settings;

	/**
	 * Client.
	 *
	 * @var FollowUp_Client
	 */
	private $client;

	/**
	 * Tokens.
	 *
	 * @var FollowUp_Restore_Token
	 */
	private $tokens;

	/**
	 * Constructor.
	 *
	 * @param FollowUp_Settings      $settings Settings.
	 * @param FollowUp_Client        $client   Client.
	 * @param FollowUp_Restore_Token $tokens   Tokens.
	 */
	public function __construct( FollowUp_Settings $settings, FollowUp_Client $client, FollowUp_Restore_Token $tokens ) {
		$this->settings = $settings;
		$this->client   = $client;
		$this->tokens   = $tokens;
	}

	/**
	 * Hooks: after WooCommerce has loaded the session and cart.
	 */
	public function register() {
		add_action( 'wp_loaded', array( $this, 'maybe_restore' ), 20 );
	}

	/**
	 * Entry point for the magic link; always ends in a redirect so the token leaves the address bar.
	 */
	public function maybe_restore() {
		// phpcs:disable WordPress.Security.NonceVerification.Recommended -- a magic link carries its own signed token instead of a nonce.
		if ( empty( $_GET[ self::PARAM ] ) || ! is_string( $_GET[ self::PARAM ] ) ) {
			return;
		}
		$token    = sanitize_text_field( wp_unslash( $_GET[ self::PARAM ] ) );
		$discount = isset( $_GET[ self::DISCOUNT_PARAM ] ) && is_string( $_GET[ self::DISCOUNT_PARAM ] ) ? wc_format_coupon_code( sanitize_text_field( wp_unslash( $_GET[ self::DISCOUNT_PARAM ] ) ) ) : '';
		$chat = isset( $_GET[ self::CHAT_PARAM ] ) && is_string( $_GET[ self::CHAT_PARAM ] ) ? sanitize_text_field( wp_unslash( $_GET[ self::CHAT_PARAM ] ) ) : '';
		// phpcs:enable
		$result = $this->restore( $token, $discount );
		if ( self::RESTORED === $result ) {
			wp_safe_redirect( self::with_chat( wc_get_checkout_url(), $chat ), 303 );
			exit;
		}
		wc_add_notice( self::notice( $result ), 'error' );
		wp_safe_redirect( self::with_chat( remove_query_arg( array( self::PARAM, self::DISCOUNT_PARAM, self::CHAT_PARAM ) ), $chat ), 303 );
		exit;
	}

	/**
	 * Keep a chat link's signed token on the page the shopper lands on, so the FollowUp snippet
	 * opens the chat on their conversation (FollowUp checks the token; here it only must look right).
	 *
	 * @param string $url  Where the shopper is sent.
	 * @param string $chat The fu_chat value from the link, or ''.
	 * @return string
	 */
	public static function with_chat( $url, $chat ) {
		if ( '' === $chat || strlen( $chat ) > 64 || ! preg_match( '/^[A-Za-z0-9._-]+$/', $chat ) ) {
			return $url;
		}
		return add_query_arg( self::CHAT_PARAM, $chat, $url );
	}

	/**
	 * Rebuild the cart for a token; the cart is only touched once everything checked out.
	 *
	 * @param string $token    Token from the link.
	 * @param string $discount Optional coupon code from the link.
	 * @return string One of the result constants.
	 */
	public function restore( $token, $discount = '' ) {
		if ( ! $this->settings->is_configured() || ! $this->tokens->verify( $token ) ) {
			return self::INVALID;
		}
		if ( self::token_used( $token ) ) {
			return self::USED;
		}
		$response = $this->client->lookup_restore( $token );
		if ( 404 === $response->status || 401 === $response->status ) {
			return self::INVALID;
		}
		if ( 410 === $response->status ) {
			return self::USED;
		}
		$lines = $response->ok() ? self::purchasable_lines( $response->data ) : array();
		if ( ! $lines ) {
			return self::UNAVAILABLE;
		}
		WC()->cart->empty_cart();
		foreach ( $lines as $line ) {
			WC()->cart->add_to_cart( $line['product_id'], $line['quantity'], $line['variation_id'] );
		}
		$coupons = isset( $response->data['cart']['coupons'] ) ? (array) $response->data['cart']['coupons'] : array();
		foreach ( array_unique( array_filter( array_merge( $coupons, array( $discount ) ) ) ) as $code ) {
			WC()->cart->apply_coupon( wc_format_coupon_code( (string) $code ) );
		}
		self::prefill( isset( $response->data['customer'] ) ? (array) $response->data['customer'] : array() );
		FollowUp_Session::adopt_token( $token );
		return self::RESTORED;
	}

	/**
	 * Lines whose products still exist and can be bought; checked before the cart is emptied.
	 *
	 * @param array $data App response.
	 * @return array
	 */
	public static function purchasable_lines( array $data ) {
		$items = isset( $data['cart']['items'] ) && is_array( $data['cart']['items'] ) ? array_slice( $data['cart']['items'], 0, self::MAX_LINES ) : array();
		$lines = array();
		foreach ( $items as $item ) {
			$product_id   = isset( $item['product_id'] ) ? absint( $item['product_id'] ) : 0;
			$variation_id = isset( $item['variation_id'] ) ? absint( $item['variation_id'] ) : 0;
			$product      = $product_id ? wc_get_product( $variation_id ? $variation_id : $product_id ) : null;
			if ( ! $product || ! $product->is_purchasable() ) {
				continue;
			}
			$lines[] = array(
				'product_id'   => $product_id,
				'variation_id' => $variation_id,
				'quantity'     => max( 1, min( 999, absint( isset( $item['quantity'] ) ? $item['quantity'] : 1 ) ) ),
			);
		}
		return $lines;
	}

	/**
	 * Fill checkout fields through the customer object, which both checkouts read.
	 *
	 * @param array $customer email, phone, first_name, last_name, country.
	 */
	private static function prefill( array $customer ) {
		if ( ! WC()->customer ) {
			return;
		}
		$map = array(
			'email'      => 'set_billing_email',
			'phone'      => 'set_billing_phone',
			'first_name' => 'set_billing_first_name',
			'last_name'  => 'set_billing_last_name',
			'country'    => 'set_billing_country',
		);
		$contact = array();
		foreach ( $map as $key => $setter ) {
			$value = isset( $customer[ $key ] ) && is_scalar( $customer[ $key ] ) ? sanitize_text_field( (string) $customer[ $key ] ) : '';
			if ( 'email' === $key ) {
				$value = is_email( $value ) ? $value : '';
			}
			if ( '' !== $value ) {
				WC()->customer->{$setter}( $value );
				$contact[ $key ] = $value;
			}
		}
		WC()->customer->save();
		FollowUp_Session::set_contact( $contact );
	}

	/**
	 * Whether an order placed on this store already used the token.
	 *
	 * @param string $token Token.
	 * @return bool
	 */
	public static function token_used( $token ) {
		$ids = wc_get_orders(
			array(
				'limit'      => 1,
				'return'     => 'ids',
				'status'     => array( 'wc-processing', 'wc-completed', 'wc-on-hold' ),
				'meta_key'   => FollowUp_Orders::TOKEN_META, // phpcs:ignore WordPress.DB.SlowDBQuery.slow_db_query_meta_key
				'meta_value' => $token, // phpcs:ignore WordPress.DB.SlowDBQuery.slow_db_query_meta_value
			)
		);
		return ! empty( $ids );
	}

	/**
	 * What the shopper reads when the link cannot restore the cart.
	 *
	 * @param string $result Result constant.
	 * @return string
	 */
	public static function notice( $result ) {
		if ( self::USED === $result ) {
			return __( 'This cart link was already used to place an order. Your current cart has not been changed.', 'followup-for-woocommerce' );
		}
		if ( self::UNAVAILABLE === $result ) {
			return __( 'We could not restore that cart right now: its items may no longer be available. Your current cart has not been changed.', 'followup-for-woocommerce' );
		}
		return __( 'This cart link is not valid. Your current cart has not been changed.', 'followup-for-woocommerce' );
	}
}
