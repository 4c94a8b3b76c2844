<?php
/**
 * Minimal stand-ins for WordPress/WooCommerce functions, recording side effects in $GLOBALS['followup_test'].
 *
 * They follow the real functions' documented behaviour closely enough for the plugin's use; they are
 * not a WordPress. Reset state with followup_test_reset().
 *
 * @package FollowUp
 */

// phpcs:disable

function followup_test_reset() {
	$GLOBALS['followup_test'] = array(
		'options'   => array(),
		'http'      => array(),
		'responses' => array(),
		'actions'   => array(),
		'scheduled' => array(),
		'async'     => array(),
		'orders'    => array(),
		'products'  => array(),
		'logs'      => array(),
		'coupons'   => array(),
		'routes'    => array(),
		'user_meta' => array(),
		'user_id'   => 0,
		'filters'   => array(),
	);
	$GLOBALS['followup_wc'] = new FakeWC();
}

class WP_Error {
	private $code;
	private $message;
	private $data;
	public function __construct( $code = '', $message = '', $data = '' ) {
		$this->code    = $code;
		$this->message = $message;
		$this->data    = $data;
	}
	public function get_error_code() {
		return $this->code;
	}
	public function get_error_message() {
		return $this->message;
	}
	public function get_error_data() {
		return $this->data;
	}
}

function __( $text, $domain = 'default' ) { return $text; }
function esc_html__( $text, $domain = 'default' ) { return esc_html( $text ); }
function esc_html( $text ) { return htmlspecialchars( (string) $text, ENT_QUOTES, 'UTF-8' ); }
function esc_attr( $text ) { return htmlspecialchars( (string) $text, ENT_QUOTES, 'UTF-8' ); }
function esc_url_raw( $url, $protocols = null ) {
	$url    = trim( (string) $url );
	$scheme = strtolower( (string) parse_url( $url, PHP_URL_SCHEME ) );
	if ( $protocols && ! in_array( $scheme, $protocols, true ) ) {
		return '';
	}
	return preg_replace( '|[^a-z0-9-~+_.?#=!&;,/:%@$\|*\'()\[\]\\x80-\\xff]|i', '', $url );
}
function sanitize_text_field( $str ) {
	$str = strip_tags( (string) $str );
	$str = preg_replace( '/[\r\n\t ]+/', ' ', $str );
	$str = preg_replace( '/%[a-f0-9]{2}/i', '', $str );
	return trim( $str );
}
function sanitize_email( $email ) {
	$email = trim( (string) $email );
	if ( substr_count( $email, '@' ) !== 1 ) {
		return '';
	}
	return preg_replace( '/[^a-z0-9+_.@\-]/i', '', $email );
}
function is_email( $email ) { return false !== filter_var( $email, FILTER_VALIDATE_EMAIL ) ? $email : false; }
function sanitize_key( $key ) { return preg_replace( '/[^a-z0-9_\-]/', '', strtolower( (string) $key ) ); }
function absint( $value ) { return abs( (int) $value ); }
function wp_json_encode( $data ) { return json_encode( $data, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE ); }
function wp_parse_url( $url, $component = -1 ) { return parse_url( $url, $component ); }
function wp_unslash( $value ) { return is_array( $value ) ? array_map( 'wp_unslash', $value ) : stripslashes( (string) $value ); }
function wp_strip_all_tags( $text ) { return trim( strip_tags( (string) $text ) ); }
function maybe_unserialize( $value ) { return is_string( $value ) && @unserialize( $value ) !== false ? unserialize( $value ) : $value; }
function get_option( $name, $default = false ) { return array_key_exists( $name, $GLOBALS['followup_test']['options'] ) ? $GLOBALS['followup_test']['options'][ $name ] : $default; }
function update_option( $name, $value, $autoload = null ) { $GLOBALS['followup_test']['options'][ $name ] = $value; return true; }
function delete_option( $name ) { unset( $GLOBALS['followup_test']['options'][ $name ] ); return true; }
function home_url( $path = '' ) { return 'https://shop.tidewaterteas.example' . $path; }
function add_query_arg( $key, $value, $url ) { return $url . ( false === strpos( $url, '?' ) ? '?' : '&' ) . $key . '=' . $value; }
function get_locale() { return 'en_US'; }
function get_woocommerce_currency() { return 'USD'; }
function wc_get_price_decimals() { return 2; }
function wc_format_decimal( $number, $dp = false ) {
	$number = (string) $number;
	if ( '' === $number ) { $number = '0'; }
	return false === $dp ? $number : number_format( round( (float) $number, $dp ), $dp, '.', '' );
}
function wc_format_coupon_code( $code ) { return strtolower( trim( html_entity_decode( (string) $code ) ) ); }
function wp_get_attachment_image_url( $id, $size = 'thumbnail' ) { return 'https://shop.tidewaterteas.example/wp-content/uploads/' . (int) $id . '-300x300.jpg'; }
function wp_generate_uuid4() { return bin2hex( random_bytes( 16 ) ); }
function wp_rand( $min = 0, $max = 0 ) { return $min; }
function wp_is_mobile() { return false; }
function is_wp_error( $thing ) { return $thing instanceof WP_Error; }

function wp_remote_post( $url, $args ) {
	$GLOBALS['followup_test']['http'][] = array( 'url' => $url, 'args' => $args );
	$next = array_shift( $GLOBALS['followup_test']['responses'] );
	return null === $next ? array( 'response' => array( 'code' => 200 ), 'body' => '{"status":"accepted"}' ) : $next;
}
function wp_remote_retrieve_response_code( $response ) { return $response['response']['code']; }
function wp_remote_retrieve_body( $response ) { return $response['body']; }

function as_schedule_single_action( $timestamp, $hook, $args = array(), $group = '' ) {
	$GLOBALS['followup_test']['scheduled'][] = compact( 'timestamp', 'hook', 'args', 'group' );
	return count( $GLOBALS['followup_test']['scheduled'] );
}
function as_enqueue_async_action( $hook, $args = array(), $group = '' ) {
	$GLOBALS['followup_test']['async'][] = compact( 'hook', 'args', 'group' );
	return count( $GLOBALS['followup_test']['async'] );
}
function add_action( $hook, $callback, $priority = 10, $args = 1 ) { $GLOBALS['followup_test']['actions'][] = $hook; }
function add_filter( $hook, $callback, $priority = 10, $args = 1 ) {
	$GLOBALS['followup_test']['actions'][]           = $hook;
	$GLOBALS['followup_test']['filters'][ $hook ][] = array( $callback, $args );
}
function apply_filters( $hook, $value, ...$rest ) {
	$callbacks = isset( $GLOBALS['followup_test']['filters'][ $hook ] ) ? $GLOBALS['followup_test']['filters'][ $hook ] : array();
	foreach ( $callbacks as list( $callback, $args ) ) {
		$value = call_user_func_array( $callback, array_slice( array_merge( array( $value ), $rest ), 0, $args ) );
	}
	return $value;
}
function get_user_meta( $user_id, $key = '', $single = false ) {
	$meta = isset( $GLOBALS['followup_test']['user_meta'][ $user_id ][ $key ] ) ? $GLOBALS['followup_test']['user_meta'][ $user_id ][ $key ] : null;
	return $single ? ( null === $meta ? '' : $meta ) : ( null === $meta ? array() : array( $meta ) );
}
function get_current_user_id() { return (int) $GLOBALS['followup_test']['user_id']; }

function wc_get_logger() { return new FakeLogger(); }
function wc_get_orders( $query ) {
	$found = array();
	foreach ( $GLOBALS['followup_test']['orders'] as $order ) {
		$status_ok = in_array( 'wc-' . $order->get_status(), (array) $query['status'], true );
		if ( $status_ok && $order->get_meta( $query['meta_key'] ) === $query['meta_value'] ) {
			$found[] = $order->get_id();
		}
	}
	return $found;
}
function wc_get_order( $id ) {
	foreach ( $GLOBALS['followup_test']['orders'] as $order ) {
		if ( $order->get_id() === (int) $id ) {
			return $order;
		}
	}
	return false;
}
function wc_get_product( $id ) { return isset( $GLOBALS['followup_test']['products'][ $id ] ) ? $GLOBALS['followup_test']['products'][ $id ] : null; }
function WC() { return $GLOBALS['followup_wc']; }
