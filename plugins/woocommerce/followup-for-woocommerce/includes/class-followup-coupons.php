<?php
/**
 * Single-use, expiring WooCommerce coupons created on the app's signed request.
 *
 * The app calls POST /wp-json/followup/v1/coupons (or ?rest_route=/followup/v1/coupons), signed and
 * verified like every signed route (FollowUp_Signed_Routes). Each request names a key (one per
 * enrollment); asking again with the same key returns the coupon already made, so a retry after a
 * lost answer never creates a second one.
 *
 * @package FollowUp
 */

defined( 'ABSPATH' ) || exit;

/**
 * The coupons REST route: verify, validate, find or create, answer with a named result.
 */
class FollowUp_Coupons {

	const ROUTE           = '/coupons';
	const EVENT           = 'coupon.create';
	const KEY_META        = '_followup_request_key';
	const MAX_EXPIRY_DAYS = 62;
	const CODE_PATTERN    = '/^[A-Za-z0-9][A-Za-z0-9-]{3,63}$/';
	const KEY_PATTERN     = '/^[A-Za-z0-9:._-]{1,128}$/';
	const DISCOUNT_TYPES  = array( 'percent', 'fixed_cart' );

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
	 * Register POST followup/v1/coupons; the signature is the permission.
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
		list( $status, $data ) = $this->create( (string) $request->get_body(), time() );
		if ( $status >= 400 ) {
			return new WP_Error( $data['code'], $data['message'], array( 'status' => $status ) );
		}
		return new WP_REST_Response( $data, $status );
	}

	/**
	 * Find or create the coupon a verified body asks for.
	 *
	 * @param string $body Raw, already verified JSON body.
	 * @param int    $now  Current Unix time.
	 * @return array{0: int, 1: array} HTTP status and answer.
	 */
	public function create( $body, $now ) {
		$input = json_decode( $body, true );
		$spec  = is_array( $input ) ? self::spec( $input, $now ) : 'body must be a JSON object';
		if ( is_string( $spec ) ) {
			return array( 400, array( 'code' => 'followup_invalid_coupon', 'message' => $spec ) );
		}
		$existing = self::find( $spec['key'] );
		if ( $existing ) {
			return array( 200, self::answer( $existing, 'existing' ) );
		}
		if ( wc_get_coupon_id_by_code( $spec['code'] ) ) {
			return array( 409, array( 'code' => 'followup_code_taken', 'message' => 'another coupon already uses this code' ) );
		}
		try {
			$coupon = self::build( $spec );
		} catch ( Exception $e ) {
			return array( 400, array( 'code' => 'followup_invalid_coupon', 'message' => $e->getMessage() ) );
		}
		return self::settle( $coupon, $spec['key'] );
	}

	/**
	 * Validate the request into setter values; a string says what is wrong.
	 *
	 * @param array $input Decoded body.
	 * @param int   $now   Current Unix time.
	 * @return array|string
	 */
	public static function spec( array $input, $now ) {
		$get = static function ( $key ) use ( $input ) {
			return isset( $input[ $key ] ) && is_scalar( $input[ $key ] ) ? trim( (string) $input[ $key ] ) : '';
		};
		if ( self::EVENT !== $get( 'type' ) ) {
			return 'type must be coupon.create';
		}
		if ( ! preg_match( self::KEY_PATTERN, $get( 'request_key' ) ) ) {
			return 'request_key must be 1 to 128 letters, digits or :._-';
		}
		if ( ! preg_match( self::CODE_PATTERN, $get( 'code' ) ) ) {
			return 'code must be 4 to 64 letters, digits or hyphens';
		}
		$free_shipping = isset( $input['free_shipping'] ) && true === $input['free_shipping'];
		$type          = $get( 'discount_type' );
		if ( ! in_array( $type, self::DISCOUNT_TYPES, true ) ) {
			return 'discount_type must be percent or fixed_cart';
		}
		$amount = $get( 'amount' );
		if ( ! is_numeric( $amount ) || (float) $amount < 0 || ( ! $free_shipping && (float) $amount <= 0 ) ) {
			return 'amount must be a positive number';
		}
		if ( 'percent' === $type && (float) $amount > 100 ) {
			return 'a percent coupon cannot exceed 100';
		}
		$minimum = $get( 'minimum_amount' );
		if ( '' !== $minimum && ( ! is_numeric( $minimum ) || (float) $minimum < 0 ) ) {
			return 'minimum_amount must be a number of at least 0';
		}
		$expires = strtotime( $get( 'expires_at' ) );
		if ( false === $expires || $expires <= $now || $expires > $now + self::MAX_EXPIRY_DAYS * DAY_IN_SECONDS ) {
			return 'expires_at must be an ISO 8601 time in the next 62 days';
		}
		$email = $get( 'email' );
		if ( '' !== $email && ! is_email( $email ) ) {
			return 'email is not a valid address';
		}
		return array(
			'key'           => $get( 'request_key' ),
			'code'          => wc_format_coupon_code( $get( 'code' ) ),
			'discount_type' => $type,
			'amount'        => wc_format_decimal( $amount ),
			'free_shipping' => $free_shipping,
			'minimum'       => '' === $minimum ? '' : wc_format_decimal( $minimum ),
			'expires'       => $expires,
			'email'         => strtolower( $email ),
			'description'   => sanitize_text_field( mb_substr( $get( 'description' ), 0, 200 ) ),
		);
	}

	/**
	 * The coupon for one shopper: one use in total and per customer, alone, expiring.
	 *
	 * @param array $spec Validated values.
	 * @return WC_Coupon Unsaved coupon.
	 * @throws Exception When WooCommerce refuses a value (WC_Data_Exception).
	 */
	private static function build( array $spec ) {
		$coupon = new WC_Coupon();
		$coupon->set_code( $spec['code'] );
		$coupon->set_description( '' !== $spec['description'] ? $spec['description'] : __( 'FollowUp cart recovery', 'followup-for-woocommerce' ) );
		$coupon->set_discount_type( $spec['discount_type'] );
		$coupon->set_amount( $spec['amount'] );
		$coupon->set_free_shipping( $spec['free_shipping'] );
		$coupon->set_date_expires( $spec['expires'] );
		$coupon->set_usage_limit( 1 );
		$coupon->set_usage_limit_per_user( 1 );
		$coupon->set_individual_use( true );
		if ( '' !== $spec['minimum'] ) {
			$coupon->set_minimum_amount( $spec['minimum'] );
		}
		if ( '' !== $spec['email'] ) {
			$coupon->set_email_restrictions( array( $spec['email'] ) );
		}
		$coupon->update_meta_data( self::KEY_META, $spec['key'] );
		return $coupon;
	}

	/**
	 * Save, then keep only the oldest coupon for the key: two racing requests answer the same coupon.
	 *
	 * @param WC_Coupon $coupon Built coupon.
	 * @param string    $key    Request key.
	 * @return array{0: int, 1: array}
	 */
	private static function settle( $coupon, $key ) {
		$coupon->save();
		$ids    = self::ids_for( $key );
		$oldest = $ids ? (int) $ids[0] : (int) $coupon->get_id();
		if ( $oldest !== (int) $coupon->get_id() ) {
			wp_delete_post( $coupon->get_id(), true );
			return array( 200, self::answer( new WC_Coupon( $oldest ), 'existing' ) );
		}
		return array( 201, self::answer( $coupon, 'created' ) );
	}

	/**
	 * The coupon already made for a request key, if any.
	 *
	 * @param string $key Request key.
	 * @return WC_Coupon|null
	 */
	private static function find( $key ) {
		$ids = self::ids_for( $key );
		return $ids ? new WC_Coupon( (int) $ids[0] ) : null;
	}

	/**
	 * Coupon ids carrying the key, oldest first.
	 *
	 * @param string $key Request key.
	 * @return int[]
	 */
	private static function ids_for( $key ) {
		return get_posts(
			array(
				'post_type'        => 'shop_coupon',
				'post_status'      => 'publish',
				'fields'           => 'ids',
				'orderby'          => 'ID',
				'order'            => 'ASC',
				'posts_per_page'   => 5,
				'no_found_rows'    => true,
				'suppress_filters' => true,
				'meta_key'         => self::KEY_META, // phpcs:ignore WordPress.DB.SlowDBQuery.slow_db_query_meta_key
				'meta_value'       => $key, // phpcs:ignore WordPress.DB.SlowDBQuery.slow_db_query_meta_value
			)
		);
	}

	/**
	 * What the app reads back.
	 *
	 * @param WC_Coupon $coupon Coupon.
	 * @param string    $status created or existing.
	 * @return array
	 */
	private static function answer( $coupon, $status ) {
		$expires = $coupon->get_date_expires();
		return array(
			'status'        => $status,
			'coupon_id'     => (int) $coupon->get_id(),
			'code'          => $coupon->get_code(),
			'discount_type' => $coupon->get_discount_type(),
			'amount'        => (string) $coupon->get_amount(),
			'free_shipping' => (bool) $coupon->get_free_shipping(),
			'expires_at'    => $expires ? gmdate( 'Y-m-d\TH:i:s\Z', $expires->getTimestamp() ) : null,
		);
	}
}
