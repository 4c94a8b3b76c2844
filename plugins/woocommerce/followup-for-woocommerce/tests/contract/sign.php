<?php
/**
 * Contract helper for the app's pytest suite: builds a request with the plugin's own classes and
 * prints it as JSON ({url, headers, body, token}) instead of sending it, so Python can post the
 * exact bytes to the app.
 *
 * Usage: php sign.php cart|order|exit|restore|test APP_URL STORE_ID SECRET [JSON or TOKEN]
 *
 * @package FollowUp
 */

// phpcs:disable
require __DIR__ . '/../bootstrap.php';

followup_test_reset();
list( , $mode, $app_url, $store_id, $secret ) = $argv;
$arg = isset( $argv[5] ) ? $argv[5] : '';
update_option( FollowUp_Settings::OPTION, array( 'app_url' => $app_url, 'store_id' => (int) $store_id, 'webhook_secret' => $secret ) );

$settings = new FollowUp_Settings();
$client   = new FollowUp_Client( $settings );
$token    = '';

if ( 'cart' === $mode ) {
	$contact = FollowUp_Capture::contact_from_request( json_decode( $arg, true ), true );
	$cart    = followup_test_cart();
	$tokens  = new FollowUp_Restore_Token( $secret );
	$token   = FollowUp_Session::token( $tokens );
	$job     = FollowUp_Queue::job( 'cart.updated', array( 'cart' => FollowUp_Payload::cart( $cart, $token, FollowUp_Session::recovery_url( $token ) ), 'session' => 'x', 'device' => 'mobile' ) );
	$client->send( 'cart.updated', FollowUp_Payload::cart_event( $job['delivery_id'], $job['cart'], $contact, 'mobile', time() ), $job['delivery_id'] );
} elseif ( 'order' === $mode ) {
	$data  = json_decode( $arg, true );
	$order = new FakeOrder( $data['order'] );
	$token = isset( $data['token'] ) ? $data['token'] : '';
	$order->update_meta_data( FollowUp_Orders::TOKEN_META, $token );
	$GLOBALS['followup_test']['orders'][] = $order;
	$job                = FollowUp_Queue::job( 'order.placed', array( 'order_id' => $order->get_id() ) );
	$job['delivery_id'] = 'wc-order-' . $order->get_id() . '-' . FollowUp_Orders::stage( $order->get_status(), $order->get_payment_method() );
	( new FollowUp_Queue( $client ) )->handle( $job );
} elseif ( 'exit' === $mode ) {
	$token = $arg;
	$job   = FollowUp_Queue::job( 'checkout.exited', array( 'token' => $token, 'exited_at' => time() ) );
	$client->send( 'checkout.exited', FollowUp_Payload::exit_event( $job['delivery_id'], $token, $job['exited_at'] ), $job['delivery_id'] );
} elseif ( 'restore' === $mode ) {
	$client->lookup_restore( $arg );
	$token = $arg;
} else {
	$client->send( 'connection.test', array( 'type' => 'connection.test', 'id' => 'test', 'occurred_at' => gmdate( 'c' ) ), wp_generate_uuid4() );
}

$request = $GLOBALS['followup_test']['http'][0];
echo json_encode(
	array(
		'url'     => $request['url'],
		'headers' => $request['args']['headers'],
		'body'    => $request['args']['body'],
		'token'   => $token,
	),
	JSON_UNESCAPED_SLASHES
);
