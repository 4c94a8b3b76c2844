<?php
/**
 * Current prices and stock of products, on the app's signed request, right before it sends a
 * recovery message (so the message never shows a price the store would not charge).
 *
 * The app calls POST /wp-json/followup/v1/products (or ?rest_route=/followup/v1/products), signed
 * and verified like every signed route (FollowUp_Signed_Routes), with
 * {"type": "products.lookup", "ids": ["123", ...]} (variation ids, or product ids for simple
 * products). The answer names the shop's currency and, per id, the price WooCommerce charges now,
 * the regular price, whether it can be bought and the stock; null for a product that is gone.
 *
 * @package FollowUp
 */

defined( 'ABSPATH' ) || exit;

/**
 * The products REST route: verify, validate, look up, answer with a named result.
 */
class FollowUp_Products {

	const ROUTE   = '/products';
	const EVENT   = 'products.lookup';
	const MAX_IDS = 100;

	/**
	 * The signed routes this one joins.
	 *
	 * @var FollowUp_Signed_Routes
	 */
	private $routes;

	/**
	 * Constructor.
	 *
	 * @param FollowUp_Signed_Routes $routes Signed routes.
	 */
	public function __construct( FollowUp_Signed_Routes $routes ) {
		$this->routes = $routes;
	}

	/**
	 * Hooks: the route exists once the REST API boots.
	 */
	public function register() {
		add_action( 'rest_api_init', array( $this, 'register_routes' ) );
	}

	/**
	 * Register POST followup/v1/products; the signature is the permission.
	 */
	public function register_routes() {
		$this->routes->add( self::ROUTE, array( $this, 'handle' ) );
	}

	/**
	 * REST callback, after the signature check passed.
	 *
	 * @param WP_REST_Request $request Request.
	 * @return WP_REST_Response|WP_Error
	 */
	public function handle( $request ) {
		list( $status, $data ) = $this->lookup( (string) $request->get_body() );
		if ( $status >= 400 ) {
			return new WP_Error( $data['code'], $data['message'], array( 'status' => $status ) );
		}
		return new WP_REST_Response( $data, $status );
	}

	/**
	 * What a verified body asks about, as WooCommerce sells it now.
	 *
	 * @param string $body Raw, already verified JSON body.
	 * @return array{0: int, 1: array} HTTP status and answer.
	 */
	public function lookup( $body ) {
		$input = json_decode( $body, true );
		if ( ! is_array( $input ) || ! isset( $input['type'] ) || self::EVENT !== $input['type'] ) {
			return self::refused( 'followup_bad_request', 'the body is not a products.lookup' );
		}
		$ids = isset( $input['ids'] ) ? $input['ids'] : null;
		if ( ! is_array( $ids ) || count( $ids ) < 1 || count( $ids ) > self::MAX_IDS ) {
			return self::refused( 'followup_bad_request', 'ids: between 1 and ' . self::MAX_IDS . ' product ids' );
		}
		$products = array();
		foreach ( $ids as $id ) {
			if ( ! is_string( $id ) || ! ctype_digit( $id ) ) {
				return self::refused( 'followup_bad_request', 'ids: each id is a product or variation id in digits' );
			}
			$products[ $id ] = self::describe( wc_get_product( (int) $id ) );
		}
		return array(
			200,
			array(
				'currency' => get_woocommerce_currency(),
				'products' => (object) $products,
			),
		);
	}

	/**
	 * One product as the shop sells it now, or null when it is gone (deleted, trashed).
	 *
	 * @param WC_Product|null|false $product Product.
	 * @return array|null
	 */
	private static function describe( $product ) {
		if ( ! $product ) {
			return null;
		}
		$price   = (string) $product->get_price();
		$regular = (string) $product->get_regular_price();
		$stock   = $product->get_stock_quantity();
		return array(
			'price'          => '' === $price ? null : wc_format_decimal( $price, wc_get_price_decimals() ),
			'regular_price'  => '' === $regular ? null : wc_format_decimal( $regular, wc_get_price_decimals() ),
			'purchasable'    => (bool) $product->is_purchasable(),
			'in_stock'       => (bool) $product->is_in_stock(),
			'stock_quantity' => null === $stock ? null : (int) $stock,
		);
	}

	/**
	 * A refusal the app shows in its log.
	 *
	 * @param string $code    Error code.
	 * @param string $message Why.
	 * @return array{0: int, 1: array}
	 */
	private static function refused( $code, $message ) {
		return array(
			400,
			array(
				'code'    => $code,
				'message' => $message,
			),
		);
	}
}
