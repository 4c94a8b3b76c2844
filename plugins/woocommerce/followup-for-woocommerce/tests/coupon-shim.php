<?php
/**
 * Stand-ins for the REST API and WC_Coupon the coupons route uses, recording coupons in
 * $GLOBALS['followup_test']['coupons'] (id => props and meta).
 *
 * They keep WooCommerce's documented rules that matter here: codes are normalised with
 * wc_format_coupon_code, unknown discount types, negative amounts, percentages over 100 and bad
 * emails throw WC_Data_Exception, and a saved coupon is a published shop_coupon post.
 *
 * @package FollowUp
 */

// phpcs:disable

defined( 'DAY_IN_SECONDS' ) || define( 'DAY_IN_SECONDS', 86400 );

class WC_Data_Exception extends Exception {}

class WP_REST_Request {
	private $method;
	private $route;
	private $headers = array();
	private $body    = '';
	public function __construct( $method = '', $route = '' ) {
		$this->method = $method;
		$this->route  = $route;
	}
	public static function canonical( $name ) { return str_replace( '-', '_', strtolower( (string) $name ) ); }
	public function set_header( $name, $value ) { $this->headers[ self::canonical( $name ) ] = (string) $value; }
	public function get_header( $name ) {
		$key = self::canonical( $name );
		return isset( $this->headers[ $key ] ) ? $this->headers[ $key ] : null;
	}
	public function set_body( $body ) { $this->body = (string) $body; }
	public function get_body() { return $this->body; }
	public function get_method() { return $this->method; }
	public function get_route() { return $this->route; }
}

class WP_REST_Response {
	public $data;
	public $status;
	public function __construct( $data = null, $status = 200 ) {
		$this->data   = $data;
		$this->status = (int) $status;
	}
	public function get_data() { return $this->data; }
	public function get_status() { return $this->status; }
}

function register_rest_route( $namespace, $route, $args ) {
	$GLOBALS['followup_test']['routes'][ '/' . trim( $namespace, '/' ) . $route ] = $args;
	return true;
}

class FakeCouponDate {
	private $ts;
	public function __construct( $ts ) { $this->ts = (int) $ts; }
	public function getTimestamp() { return $this->ts; }
}

class WC_Coupon {
	private $id    = 0;
	private $props = array(
		'code' => '', 'description' => '', 'discount_type' => 'fixed_cart', 'amount' => '0', 'free_shipping' => false,
		'date_expires' => null, 'usage_limit' => 0, 'usage_limit_per_user' => 0, 'individual_use' => false,
		'minimum_amount' => '', 'email_restrictions' => array(), 'status' => 'publish',
	);
	private $meta  = array();

	public function __construct( $data = 0 ) {
		$id = is_numeric( $data ) ? (int) $data : wc_get_coupon_id_by_code( (string) $data );
		if ( $id && isset( $GLOBALS['followup_test']['coupons'][ $id ] ) ) {
			$this->id    = $id;
			$this->props = $GLOBALS['followup_test']['coupons'][ $id ]['props'];
			$this->meta  = $GLOBALS['followup_test']['coupons'][ $id ]['meta'];
		}
	}
	public function set_code( $code ) { $this->props['code'] = wc_format_coupon_code( $code ); }
	public function set_description( $text ) { $this->props['description'] = (string) $text; }
	public function set_discount_type( $type ) {
		if ( ! in_array( $type, array( 'percent', 'fixed_cart', 'fixed_product' ), true ) ) {
			throw new WC_Data_Exception( 'Invalid discount type' );
		}
		$this->props['discount_type'] = $type;
	}
	public function set_amount( $amount ) {
		$amount = wc_format_decimal( $amount );
		if ( (float) $amount < 0 ) {
			throw new WC_Data_Exception( 'Invalid discount amount' );
		}
		if ( 'percent' === $this->props['discount_type'] && (float) $amount > 100 ) {
			throw new WC_Data_Exception( 'Invalid discount amount' );
		}
		$this->props['amount'] = $amount;
	}
	public function set_free_shipping( $on ) { $this->props['free_shipping'] = (bool) $on; }
	public function set_date_expires( $ts ) { $this->props['date_expires'] = null === $ts ? null : (int) $ts; }
	public function set_usage_limit( $n ) { $this->props['usage_limit'] = absint( $n ); }
	public function set_usage_limit_per_user( $n ) { $this->props['usage_limit_per_user'] = absint( $n ); }
	public function set_individual_use( $on ) { $this->props['individual_use'] = (bool) $on; }
	public function set_minimum_amount( $amount ) { $this->props['minimum_amount'] = wc_format_decimal( $amount ); }
	public function set_email_restrictions( $emails ) {
		foreach ( (array) $emails as $email ) {
			if ( ! is_email( $email ) ) {
				throw new WC_Data_Exception( 'Invalid email address restriction' );
			}
		}
		$this->props['email_restrictions'] = array_map( 'strtolower', (array) $emails );
	}
	public function update_meta_data( $key, $value ) { $this->meta[ $key ] = $value; }
	public function get_meta( $key ) { return isset( $this->meta[ $key ] ) ? $this->meta[ $key ] : ''; }
	public function get_id() { return $this->id; }
	public function get_code() { return $this->props['code']; }
	public function get_description() { return $this->props['description']; }
	public function get_discount_type() { return $this->props['discount_type']; }
	public function get_amount() { return $this->props['amount']; }
	public function get_free_shipping() { return $this->props['free_shipping']; }
	public function get_usage_limit() { return $this->props['usage_limit']; }
	public function get_usage_limit_per_user() { return $this->props['usage_limit_per_user']; }
	public function get_individual_use() { return $this->props['individual_use']; }
	public function get_minimum_amount() { return $this->props['minimum_amount']; }
	public function get_email_restrictions() { return $this->props['email_restrictions']; }
	public function get_date_expires() { return null === $this->props['date_expires'] ? null : new FakeCouponDate( $this->props['date_expires'] ); }
	public function save() {
		// A test may queue work that "another request" does just before this save lands.
		if ( ! empty( $GLOBALS['followup_test']['before_coupon_save'] ) ) {
			call_user_func( array_shift( $GLOBALS['followup_test']['before_coupon_save'] ) );
		}
		if ( ! $this->id ) {
			$ids      = array_keys( $GLOBALS['followup_test']['coupons'] );
			$this->id = $ids ? max( $ids ) + 1 : 1;
		}
		$GLOBALS['followup_test']['coupons'][ $this->id ] = array( 'props' => $this->props, 'meta' => $this->meta );
		return $this->id;
	}
}

function wc_get_coupon_id_by_code( $code, $exclude = 0 ) {
	$code = wc_format_coupon_code( $code );
	foreach ( $GLOBALS['followup_test']['coupons'] as $id => $coupon ) {
		if ( $coupon['props']['code'] === $code && (int) $id !== (int) $exclude && 'publish' === $coupon['props']['status'] ) {
			return (int) $id;
		}
	}
	return 0;
}

function get_posts( $args ) {
	$found = array();
	foreach ( $GLOBALS['followup_test']['coupons'] as $id => $coupon ) {
		if ( 'shop_coupon' !== $args['post_type'] || $coupon['props']['status'] !== $args['post_status'] ) {
			continue;
		}
		if ( isset( $args['meta_key'] ) && ( ! isset( $coupon['meta'][ $args['meta_key'] ] ) || $coupon['meta'][ $args['meta_key'] ] !== $args['meta_value'] ) ) {
			continue;
		}
		$found[] = (int) $id;
	}
	sort( $found );
	return array_slice( $found, 0, $args['posts_per_page'] );
}

function wp_delete_post( $id, $force = false ) {
	unset( $GLOBALS['followup_test']['coupons'][ (int) $id ] );
	return true;
}
