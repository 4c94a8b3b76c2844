<?php
/**
 * Router for `php -S`: the plugin's coupons and products routes behind real HTTP, for the app's
 * pytest suite. Products (id => FakeProduct props) are read from FOLLOWUP_PRODUCTS_STATE.
 *
 * It dispatches like WordPress's REST server (route match, permission_callback, then callback,
 * WP_Error turned into {code, message, data} with its status) over the plugin's own class and the
 * shim. Coupons persist between requests in the JSON file named by FOLLOWUP_COUPON_STATE.
 *
 * Usage: FOLLOWUP_COUPON_SECRET=... FOLLOWUP_COUPON_STATE=/tmp/x.json php -S 127.0.0.1:PORT coupon-server.php
 *
 * @package FollowUp
 */

// phpcs:disable
require __DIR__ . '/../bootstrap.php';

followup_test_reset();
$state_file = getenv( 'FOLLOWUP_COUPON_STATE' );
$lock       = fopen( $state_file . '.lock', 'c' );
flock( $lock, LOCK_EX );
$saved = is_file( $state_file ) ? json_decode( (string) file_get_contents( $state_file ), true ) : array();
$GLOBALS['followup_test']['coupons'] = is_array( $saved ) ? $saved : array();
update_option( FollowUp_Settings::OPTION, array( 'app_url' => 'http://127.0.0.1', 'store_id' => 1, 'webhook_secret' => (string) getenv( 'FOLLOWUP_COUPON_SECRET' ) ) );

function followup_answer( $status, $data ) {
	http_response_code( $status );
	header( 'Content-Type: application/json; charset=UTF-8' );
	echo json_encode( $data, JSON_UNESCAPED_SLASHES );
}

$products_file = (string) getenv( 'FOLLOWUP_PRODUCTS_STATE' );
$catalogue     = is_file( $products_file ) ? json_decode( (string) file_get_contents( $products_file ), true ) : array();
foreach ( is_array( $catalogue ) ? $catalogue : array() as $id => $props ) {
	$GLOBALS['followup_test']['products'][ (int) $id ] = new FakeProduct( $props );
}
$signed  = new FollowUp_Signed_Routes( new FollowUp_Settings() );
$coupons = new FollowUp_Coupons( $signed );
$coupons->register_routes();
( new FollowUp_Products( $signed ) )->register_routes();
$log_file = $state_file . '.requests';
file_put_contents( $log_file, json_encode( array( 'route' => isset( $_GET['rest_route'] ) ? $_GET['rest_route'] : $_SERVER['REQUEST_URI'] ) ) . "\n", FILE_APPEND );
$route = isset( $_GET['rest_route'] ) ? (string) $_GET['rest_route'] : (string) parse_url( $_SERVER['REQUEST_URI'], PHP_URL_PATH );
$route = preg_replace( '#^/wp-json#', '', $route );
$found = isset( $GLOBALS['followup_test']['routes'][ $route ] ) ? $GLOBALS['followup_test']['routes'][ $route ] : null;

if ( null === $found || $found['methods'] !== $_SERVER['REQUEST_METHOD'] ) {
	followup_answer( 404, array( 'code' => 'rest_no_route', 'message' => 'No route was found matching the URL and request method.', 'data' => array( 'status' => 404 ) ) );
} else {
	$request = new WP_REST_Request( $_SERVER['REQUEST_METHOD'], $route );
	foreach ( getallheaders() as $name => $value ) {
		$request->set_header( $name, $value );
	}
	$request->set_body( (string) file_get_contents( 'php://input' ) );
	$result = call_user_func( $found['permission_callback'], $request );
	if ( true === $result ) {
		$result = call_user_func( $found['callback'], $request );
	}
	if ( $result instanceof WP_Error ) {
		$data = $result->get_error_data();
		followup_answer( $data['status'], array( 'code' => $result->get_error_code(), 'message' => $result->get_error_message(), 'data' => $data ) );
	} else {
		followup_answer( $result->get_status(), $result->get_data() );
	}
}

file_put_contents( $state_file, json_encode( $GLOBALS['followup_test']['coupons'] ) );
flock( $lock, LOCK_UN );
return true;
