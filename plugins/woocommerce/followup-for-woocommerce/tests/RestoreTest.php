<?php
// phpcs:disable
require_once __DIR__ . '/FollowUpTestCase.php';

class RestoreTest extends FollowUpTestCase {

	private $tokens;
	private $restore;

	protected function setUp(): void {
		parent::setUp();
		$settings      = new FollowUp_Settings();
		$this->tokens  = new FollowUp_Restore_Token( self::SECRET );
		$this->restore = new FollowUp_Restore( $settings, new FollowUp_Client( $settings ), $this->tokens );
		followup_test_cart();
		WC()->cart->log = array();
	}

	private function app_cart() {
		return array(
			'status'   => 'ok',
			'cart'     => array(
				'currency' => 'USD',
				'coupons'  => array( 'WELCOME10' ),
				'items'    => array(
					array( 'product_id' => '101', 'variation_id' => null, 'quantity' => 2 ),
					array( 'product_id' => '205', 'variation_id' => '206', 'quantity' => 1 ),
					array( 'product_id' => '999', 'quantity' => 1 ),
				),
			),
			'customer' => array( 'email' => 'ana@example.com', 'phone' => '+14155550100', 'first_name' => 'Ana', 'last_name' => '<b>Lima</b>' ),
		);
	}

	public function test_valid_token_rebuilds_cart_applies_discount_and_prefills() {
		$token = $this->tokens->issue();
		$this->respond( 200, $this->app_cart() );
		$this->assertSame( FollowUp_Restore::RESTORED, $this->restore->restore( $token, 'comeback15' ) );
		$this->assertSame(
			array( array( 'empty' ), array( 'add', 101, 2, 0 ), array( 'add', 205, 1, 206 ), array( 'coupon', 'welcome10' ), array( 'coupon', 'comeback15' ) ),
			WC()->cart->log
		);
		$this->assertSame( 'ana@example.com', WC()->customer->props['billing_email'] );
		$this->assertSame( 'Lima', WC()->customer->props['billing_last_name'] );
		$this->assertSame( $token, WC()->session->get( FollowUp_Session::TOKEN ) );
		$request = $GLOBALS['followup_test']['http'][0];
		$this->assertSame( 'https://app.example.com/plugin/woocommerce/7/restore', $request['url'] );
		$this->assertSame( array( 'token' => $token ), json_decode( $request['args']['body'], true ) );
		$this->assertSame( 'restore.lookup', $request['args']['headers']['X-FollowUp-Event'] );
	}

	public function test_invalid_token_leaves_cart_untouched_without_calling_the_app() {
		$forged = ( new FollowUp_Restore_Token( 'someone-elses-secret' ) )->issue();
		$this->assertSame( FollowUp_Restore::INVALID, $this->restore->restore( $forged ) );
		$this->assertSame( FollowUp_Restore::INVALID, $this->restore->restore( 'MTIz' ) );
		$this->assertSame( array(), WC()->cart->log );
		$this->assertSame( array(), $GLOBALS['followup_test']['http'] );
		$this->assertCount( 2, WC()->cart->get_cart() );
	}

	public function test_used_token_is_refused_locally_or_by_the_app() {
		$token                                      = $this->tokens->issue();
		$order                                      = new FakeOrder( array( 'id' => 5, 'status' => 'processing' ) );
		$order->meta[ FollowUp_Orders::TOKEN_META ] = $token;
		$GLOBALS['followup_test']['orders'][]       = $order;
		$this->assertSame( FollowUp_Restore::USED, $this->restore->restore( $token ) );
		$this->assertSame( array(), $GLOBALS['followup_test']['http'] );

		$other = $this->tokens->issue();
		$this->respond( 410, array( 'error' => 'restore_used' ) );
		$this->assertSame( FollowUp_Restore::USED, $this->restore->restore( $other ) );
		$this->assertSame( array(), WC()->cart->log );
	}

	public function test_unknown_token_app_down_or_nothing_purchasable_leave_cart_untouched() {
		$this->respond( 404, array( 'error' => 'unknown_checkout' ) );
		$this->assertSame( FollowUp_Restore::INVALID, $this->restore->restore( $this->tokens->issue() ) );
		$GLOBALS['followup_test']['responses'][] = new WP_Error( 'http_request_failed', 'Connection refused' );
		$this->assertSame( FollowUp_Restore::UNAVAILABLE, $this->restore->restore( $this->tokens->issue() ) );
		$gone = $this->app_cart();
		$gone['cart']['items'] = array( array( 'product_id' => 999, 'quantity' => 1 ) );
		$this->respond( 200, $gone );
		$this->assertSame( FollowUp_Restore::UNAVAILABLE, $this->restore->restore( $this->tokens->issue() ) );
		$this->assertSame( array(), WC()->cart->log );
		$this->assertStringContainsString( 'not been changed', FollowUp_Restore::notice( FollowUp_Restore::USED ) );
	}

	public function test_a_chat_links_token_rides_along_to_the_landing_and_nothing_else_does() {
		$token = '1a.2b.AbCdEf0123456789';
		$this->assertSame( 'https://shop.example/checkout/?fu_chat=' . $token, FollowUp_Restore::with_chat( 'https://shop.example/checkout/', $token ) );
		$this->assertSame( 'https://shop.example/checkout/', FollowUp_Restore::with_chat( 'https://shop.example/checkout/', '' ) );
		$this->assertSame( 'https://shop.example/checkout/', FollowUp_Restore::with_chat( 'https://shop.example/checkout/', '"><script>' ) );
		$this->assertSame( 'https://shop.example/checkout/', FollowUp_Restore::with_chat( 'https://shop.example/checkout/', str_repeat( 'a', 65 ) ) );
	}
}
