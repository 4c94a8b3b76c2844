<?php
// phpcs:disable
require_once __DIR__ . '/FollowUpTestCase.php';

class CouponsTest extends FollowUpTestCase {

	private $coupons;

	protected function setUp(): void {
		parent::setUp();
		$this->coupons = self::coupons();
	}

	private static function coupons() {
		return new FollowUp_Coupons( new FollowUp_Signed_Routes( new FollowUp_Settings() ) );
	}

	private function body( array $overrides = array() ) {
		return array_merge(
			array(
				'type'           => 'coupon.create',
				'request_key'    => 'enrollment:41',
				'code'           => 'BACK-7KQ2MZ4P',
				'discount_type'  => 'percent',
				'amount'         => '15',
				'free_shipping'  => false,
				'minimum_amount' => '50.00',
				'expires_at'     => gmdate( 'Y-m-d\TH:i:s\Z', time() + 48 * 3600 ),
				'email'          => 'Ana.Lima@Example.com',
			),
			$overrides
		);
	}

	private function request( array $body, $secret = self::SECRET, $timestamp = null ) {
		$raw       = json_encode( $body );
		$timestamp = null === $timestamp ? time() : $timestamp;
		$request   = new WP_REST_Request( 'POST', '/followup/v1/coupons' );
		$request->set_header( 'X-FollowUp-Timestamp', (string) $timestamp );
		$request->set_header( 'X-FollowUp-Signature', ( new FollowUp_Signer( $secret ) )->sign( $timestamp, $raw ) );
		$request->set_body( $raw );
		return $request;
	}

	/**
	 * Dispatch like WordPress's REST server: the registered permission callback, then the callback.
	 */
	private function call( WP_REST_Request $request, $coupons = null ) {
		( $coupons ? $coupons : $this->coupons )->register_routes();
		$route   = $GLOBALS['followup_test']['routes']['/followup/v1/coupons'];
		$allowed = call_user_func( $route['permission_callback'], $request );
		if ( true !== $allowed ) {
			return $allowed;
		}
		return call_user_func( $route['callback'], $request );
	}

	private function stored() {
		return array_values( $GLOBALS['followup_test']['coupons'] );
	}

	public function test_route_is_registered_with_the_signature_as_permission() {
		$this->coupons->register();
		$this->assertContains( 'rest_api_init', $GLOBALS['followup_test']['actions'] );
		$this->coupons->register_routes();
		$route = $GLOBALS['followup_test']['routes']['/followup/v1/coupons'];
		$this->assertSame( 'POST', $route['methods'] );
		$this->assertSame( array( $this->coupons, 'handle' ), $route['callback'] );
		$this->assertInstanceOf( FollowUp_Signed_Routes::class, $route['permission_callback'][0] );
		$this->assertSame( 'verify', $route['permission_callback'][1] );
	}

	public function test_signed_request_creates_a_single_use_expiring_coupon() {
		$expires  = time() + 48 * 3600;
		$response = $this->call( $this->request( $this->body( array( 'expires_at' => gmdate( 'c', $expires ) ) ) ) );
		$this->assertInstanceOf( WP_REST_Response::class, $response );
		$this->assertSame( 201, $response->get_status() );
		$data = $response->get_data();
		$this->assertSame( 'created', $data['status'] );
		$this->assertSame( 'back-7kq2mz4p', $data['code'] );
		$this->assertSame( gmdate( 'Y-m-d\TH:i:s\Z', $expires ), $data['expires_at'] );

		$coupon = new WC_Coupon( $data['coupon_id'] );
		$this->assertSame( 'percent', $coupon->get_discount_type() );
		$this->assertSame( '15', $coupon->get_amount() );
		$this->assertSame( 1, $coupon->get_usage_limit() );
		$this->assertSame( 1, $coupon->get_usage_limit_per_user() );
		$this->assertTrue( $coupon->get_individual_use() );
		$this->assertFalse( $coupon->get_free_shipping() );
		$this->assertSame( '50.00', $coupon->get_minimum_amount() );
		$this->assertSame( array( 'ana.lima@example.com' ), $coupon->get_email_restrictions() );
		$this->assertSame( $expires, $coupon->get_date_expires()->getTimestamp() );
		$this->assertSame( 'enrollment:41', $coupon->get_meta( FollowUp_Coupons::KEY_META ) );
	}

	public function test_retry_with_the_same_key_returns_the_same_coupon() {
		$first  = $this->call( $this->request( $this->body() ) )->get_data();
		$again  = $this->call( $this->request( $this->body() ) );
		$other  = $this->call( $this->request( $this->body( array( 'code' => 'BACK-OTHERCODE' ) ) ) );
		$this->assertSame( 200, $again->get_status() );
		$this->assertSame( 'existing', $again->get_data()['status'] );
		$this->assertSame( $first['coupon_id'], $again->get_data()['coupon_id'] );
		$this->assertSame( $first['code'], $other->get_data()['code'] );
		$this->assertCount( 1, $this->stored() );
	}

	public function test_fixed_cart_and_free_shipping_coupons_without_email() {
		$fixed = $this->call( $this->request( $this->body( array( 'request_key' => 'enrollment:1', 'code' => 'TENOFF-AAAA', 'discount_type' => 'fixed_cart', 'amount' => '10', 'email' => null, 'minimum_amount' => null ) ) ) );
		$this->assertSame( 201, $fixed->get_status() );
		$coupon = new WC_Coupon( $fixed->get_data()['coupon_id'] );
		$this->assertSame( array( 'fixed_cart', '10', array(), '' ), array( $coupon->get_discount_type(), $coupon->get_amount(), $coupon->get_email_restrictions(), $coupon->get_minimum_amount() ) );

		$ship = $this->call( $this->request( $this->body( array( 'request_key' => 'enrollment:2', 'code' => 'SHIP-BBBB', 'discount_type' => 'fixed_cart', 'amount' => '0', 'free_shipping' => true ) ) ) );
		$this->assertSame( 201, $ship->get_status() );
		$this->assertTrue( $ship->get_data()['free_shipping'] );
		$coupon = new WC_Coupon( $ship->get_data()['coupon_id'] );
		$this->assertTrue( $coupon->get_free_shipping() );
		$this->assertSame( '0', $coupon->get_amount() );
		$this->assertSame( 1, $coupon->get_usage_limit() );
	}

	public function test_bad_stale_or_foreign_signatures_are_refused_and_create_nothing() {
		$body     = $this->body();
		$tampered = $this->request( $body );
		$tampered->set_body( str_replace( '"15"', '"95"', $tampered->get_body() ) );
		$cases = array(
			array( 'followup_bad_signature', 'signature does not match', $tampered ),
			array( 'followup_bad_signature', 'signature does not match', $this->request( $body, 'whsec_some_other_store_secret' ) ),
			array( 'followup_stale_request', 'timestamp outside the five-minute window', $this->request( $body, self::SECRET, time() - 301 ) ),
			array( 'followup_stale_request', 'timestamp outside the five-minute window', $this->request( $body, self::SECRET, time() + 301 ) ),
		);
		foreach ( $cases as list( $code, $why, $request ) ) {
			$result = $this->call( $request );
			$this->assertInstanceOf( WP_Error::class, $result );
			$this->assertSame( $code, $result->get_error_code() );
			$this->assertSame( array( 'status' => 401 ), $result->get_error_data() );
			$this->assertSame( $why, $result->get_error_message() );
		}
		$missing = new WP_REST_Request( 'POST', '/followup/v1/coupons' );
		$missing->set_body( json_encode( $body ) );
		$this->assertSame( 'missing or malformed X-FollowUp-Timestamp', $this->call( $missing )->get_error_message() );

		update_option( FollowUp_Settings::OPTION, array( 'app_url' => 'https://app.example.com', 'store_id' => 7 ) );
		$unconfigured = $this->call( $this->request( $body, '' ), self::coupons() );
		$this->assertSame( 'followup_not_configured', $unconfigured->get_error_code() );
		$this->assertStringContainsString( 'no webhook secret', $unconfigured->get_error_message() );
		$this->assertSame( array(), $this->stored() );
	}

	public function test_invalid_requests_get_400_with_the_reason_and_create_nothing() {
		$cases = array(
			'type must be coupon.create'             => array( 'type' => 'cart.updated' ),
			'request_key must be'                    => array( 'request_key' => '' ),
			'code must be 4 to 64'                   => array( 'code' => 'A B' ),
			'discount_type must be percent'          => array( 'discount_type' => 'fixed_product' ),
			'amount must be a positive number'       => array( 'amount' => '-5' ),
			'amount must be a positive number '      => array( 'amount' => '0' ),
			'a percent coupon cannot exceed 100'     => array( 'amount' => '120' ),
			'minimum_amount must be'                 => array( 'minimum_amount' => 'lots' ),
			'expires_at must be'                     => array( 'expires_at' => gmdate( 'c', time() - 60 ) ),
			'expires_at must be '                    => array( 'expires_at' => gmdate( 'c', time() + 90 * 86400 ) ),
			'email is not a valid address'           => array( 'email' => 'ana@' ),
		);
		foreach ( $cases as $why => $overrides ) {
			$result = $this->call( $this->request( $this->body( $overrides ) ) );
			$this->assertInstanceOf( WP_Error::class, $result, $why );
			$this->assertSame( array( 'status' => 400 ), $result->get_error_data() );
			$this->assertStringContainsString( trim( $why ), $result->get_error_message() );
		}
		$raw = $this->request( array() );
		$raw->set_body( '[1, 2' );
		$raw->set_header( 'X-FollowUp-Signature', ( new FollowUp_Signer( self::SECRET ) )->sign( (int) $raw->get_header( 'x_followup_timestamp' ), '[1, 2' ) );
		$this->assertSame( 'body must be a JSON object', $this->call( $raw )->get_error_message() );
		$this->assertSame( array(), $this->stored() );
	}

	public function test_two_racing_requests_end_with_one_coupon_both_answered_with_it() {
		$body = $this->body();
		// The other request passed the same checks and saves first, between our lookup and our save.
		$GLOBALS['followup_test']['before_coupon_save'][] = function () {
			$racer = new WC_Coupon();
			$racer->set_code( 'BACK-7KQ2MZ4P' );
			$racer->update_meta_data( FollowUp_Coupons::KEY_META, 'enrollment:41' );
			$racer->save();
		};
		$response = $this->call( $this->request( $body ) );
		$this->assertSame( 200, $response->get_status() );
		$this->assertSame( 'existing', $response->get_data()['status'] );
		$stored = $this->stored();
		$this->assertCount( 1, $stored );
		$this->assertSame( 1, $response->get_data()['coupon_id'] );
	}

	public function test_a_code_used_by_another_coupon_is_refused() {
		$theirs = new WC_Coupon();
		$theirs->set_code( 'BACK-7KQ2MZ4P' );
		$theirs->save();
		$result = $this->call( $this->request( $this->body() ) );
		$this->assertSame( 'followup_code_taken', $result->get_error_code() );
		$this->assertSame( array( 'status' => 409 ), $result->get_error_data() );
		$this->assertCount( 1, $this->stored() );
	}
}
