<?php
/**
 * Test doubles for WooCommerce objects (cart, product, session, customer, order) with the getters the plugin uses.
 *
 * @package FollowUp
 */

// phpcs:disable

class FakeLogger {
	public function warning( $message, $context = array() ) {
		$GLOBALS['followup_test']['logs'][] = $message;
	}
}

class FakeProduct {
	public $props;
	public function __construct( array $props ) {
		$this->props = array_merge( array( 'name' => 'Item', 'sku' => '', 'price' => '0', 'image_id' => 0, 'permalink' => '', 'purchasable' => true ), $props );
	}
	public function get_name() { return $this->props['name']; }
	public function get_sku() { return $this->props['sku']; }
	public function get_price() { return $this->props['price']; }
	public function get_image_id() { return $this->props['image_id']; }
	public function get_permalink() { return $this->props['permalink']; }
	public function is_purchasable() { return $this->props['purchasable']; }
	public function get_regular_price() { return isset( $this->props['regular_price'] ) ? $this->props['regular_price'] : $this->props['price']; }
	public function is_in_stock() { return isset( $this->props['in_stock'] ) ? $this->props['in_stock'] : true; }
	public function get_stock_quantity() { return isset( $this->props['stock_quantity'] ) ? $this->props['stock_quantity'] : null; }
}

class FakeCart {
	public $lines   = array();
	public $totals  = array( 'subtotal' => '0', 'discount' => '0', 'shipping' => '0', 'tax' => '0', 'total' => '0' );
	public $coupons = array();
	public $hash    = '';
	public $log     = array();
	public function get_cart() { return $this->lines; }
	public function get_cart_hash() { return $this->hash; }
	public function get_subtotal() { return $this->totals['subtotal']; }
	public function get_discount_total() { return $this->totals['discount']; }
	public function get_shipping_total() { return $this->totals['shipping']; }
	public function get_total_tax() { return $this->totals['tax']; }
	public function get_total( $context = 'view' ) { return $this->totals['total']; }
	public function get_applied_coupons() { return $this->coupons; }
	public function is_empty() { return ! $this->lines; }
	public function calculate_totals() {}
	public function empty_cart() { $this->lines = array(); $this->log[] = array( 'empty' ); }
	public function add_to_cart( $product_id, $quantity = 1, $variation_id = 0 ) {
		$this->log[]   = array( 'add', $product_id, $quantity, $variation_id );
		$this->lines[] = array( 'product_id' => $product_id, 'variation_id' => $variation_id, 'quantity' => $quantity, 'data' => wc_get_product( $variation_id ? $variation_id : $product_id ) );
		return 'key' . count( $this->lines );
	}
	public function apply_coupon( $code ) { $this->coupons[] = $code; $this->log[] = array( 'coupon', $code ); return true; }
}

class FakeSession {
	public $data = array();
	public function get( $key, $default = null ) { return array_key_exists( $key, $this->data ) ? $this->data[ $key ] : $default; }
	public function set( $key, $value ) { $this->data[ $key ] = $value; }
	public function has_session() { return true; }
	public function get_customer_id() { return 't_0123456789abcdef'; }
}

class FakeCustomer {
	public $props = array();
	public $saved = 0;
	public function __call( $name, $args ) {
		if ( 0 === strpos( $name, 'set_' ) ) {
			$this->props[ substr( $name, 4 ) ] = $args[0];
		}
	}
	public function save() { $this->saved++; }
}

class FakeWC {
	public $cart;
	public $session;
	public $customer;
	public function __construct() {
		$this->cart     = new FakeCart();
		$this->session  = new FakeSession();
		$this->customer = new FakeCustomer();
	}
}

class FakeDate {
	private $ts;
	public function __construct( $ts ) { $this->ts = $ts; }
	public function getTimestamp() { return $this->ts; }
}

class FakeOrder {
	public $props;
	public $meta = array();
	public function __construct( array $props ) {
		$this->props = array_merge(
			array(
				'id' => 1, 'number' => '1', 'status' => 'processing', 'total' => '0', 'currency' => 'USD', 'created' => 1767897667,
				'cart_hash' => '', 'coupons' => array(), 'payment_method' => 'stripe', 'email' => '', 'phone' => '', 'first_name' => '',
				'last_name' => '', 'country' => '', 'state' => '', 'customer_id' => 0,
			),
			$props
		);
	}
	public function get_id() { return $this->props['id']; }
	public function get_order_number() { return $this->props['number']; }
	public function get_status() { return $this->props['status']; }
	public function get_total() { return $this->props['total']; }
	public function get_currency() { return $this->props['currency']; }
	public function get_date_created() { return new FakeDate( $this->props['created'] ); }
	public function get_cart_hash() { return $this->props['cart_hash']; }
	public function get_coupon_codes() { return $this->props['coupons']; }
	public function get_payment_method() { return $this->props['payment_method']; }
	public function get_billing_email() { return $this->props['email']; }
	public function get_billing_phone() { return $this->props['phone']; }
	public function get_billing_first_name() { return $this->props['first_name']; }
	public function get_billing_last_name() { return $this->props['last_name']; }
	public function get_billing_country() { return $this->props['country']; }
	public function get_billing_state() { return $this->props['state']; }
	public function get_customer_id() { return $this->props['customer_id']; }
	public function get_meta( $key ) { return isset( $this->meta[ $key ] ) ? $this->meta[ $key ] : ''; }
	public function update_meta_data( $key, $value ) { $this->meta[ $key ] = $value; }
	public function save_meta_data() {}
}

/**
 * A cart like a shopper's at Tidewater Teas: two lines, one coupon, shipping and tax.
 */
function followup_test_cart() {
	$GLOBALS['followup_test']['products'][ 101 ] = new FakeProduct( array( 'name' => 'Sencha Kyoto Green Tea', 'sku' => 'TEA-SENCHA-100', 'price' => '14.50', 'image_id' => 88, 'permalink' => 'https://shop.tidewaterteas.example/product/sencha/' ) );
	$GLOBALS['followup_test']['products'][ 205 ] = new FakeProduct( array( 'name' => 'Cast Iron Teapot', 'sku' => 'POT-IRON-08', 'price' => '39.00', 'image_id' => 0, 'permalink' => 'https://shop.tidewaterteas.example/product/teapot/' ) );
	$GLOBALS['followup_test']['products'][ 206 ] = $GLOBALS['followup_test']['products'][ 205 ];
	$cart          = WC()->cart;
	$cart->lines   = array(
		'a1' => array( 'product_id' => 101, 'variation_id' => 0, 'quantity' => 2, 'line_subtotal' => 29, 'variation' => array(), 'data' => $GLOBALS['followup_test']['products'][ 101 ] ),
		'b2' => array( 'product_id' => 205, 'variation_id' => 206, 'quantity' => 1, 'line_subtotal' => '39.00', 'variation' => array( 'attribute_pa_color' => 'matte-black' ), 'data' => $GLOBALS['followup_test']['products'][ 206 ] ),
	);
	$cart->totals  = array( 'subtotal' => '68', 'discount' => '6.80', 'shipping' => '5.00', 'tax' => '5.30', 'total' => '71.50' );
	$cart->coupons = array( 'WELCOME10' );
	$cart->hash    = '5f2c9a4be1d07c3e8a6b4d2f1e0c9b8a';
	return $cart;
}
