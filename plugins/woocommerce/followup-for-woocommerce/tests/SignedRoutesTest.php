<?php
// phpcs:disable
require_once __DIR__ . '/FollowUpTestCase.php';

class SignedRoutesTest extends FollowUpTestCase {

	const NOW  = 1767897667;
	const BODY = '{"type":"coupon.create","request_key":"enrollment:41"}';

	private static function sign( $timestamp, $body, $secret = self::SECRET ) {
		return ( new FollowUp_Signer( $secret ) )->sign( (int) $timestamp, $body );
	}

	private static function request( $body, $timestamp, $signature ) {
		$request = new WP_REST_Request( 'POST', '/followup/v1/status' );
		$request->set_header( 'X-FollowUp-Timestamp', (string) $timestamp );
		$request->set_header( 'X-FollowUp-Signature', $signature );
		$request->set_body( $body );
		return $request;
	}

	public function test_the_status_and_coupons_routes_share_one_signature_check() {
		$settings = new FollowUp_Settings();
		$signed   = new FollowUp_Signed_Routes( $settings );
		( new FollowUp_Rest( $settings, $signed ) )->routes();
		( new FollowUp_Coupons( $signed ) )->register_routes();
		$routes = $GLOBALS['followup_test']['routes'];
		foreach ( array( '/followup/v1/status', '/followup/v1/coupons' ) as $path ) {
			$this->assertSame( 'POST', $routes[ $path ]['methods'] );
			$this->assertSame( array( $signed, 'verify' ), $routes[ $path ]['permission_callback'] );
		}
	}

	public function test_a_fresh_matching_signature_passes_up_to_the_edge_of_the_window() {
		$signed = new FollowUp_Signed_Routes( new FollowUp_Settings() );
		foreach ( array( self::NOW, self::NOW - 300, self::NOW + 300 ) as $timestamp ) {
			$this->assertNull( $signed->problem( (string) $timestamp, self::BODY, self::sign( $timestamp, self::BODY ), self::NOW ) );
		}
		$fresh = self::request( self::BODY, time(), self::sign( time(), self::BODY ) );
		$this->assertTrue( $signed->verify( $fresh ) );
	}

	public function test_each_refusal_names_its_reason() {
		$signed = new FollowUp_Signed_Routes( new FollowUp_Settings() );
		$large  = str_repeat( 'x', FollowUp_Signed_Routes::MAX_BODY + 1 );
		$cases  = array(
			array( 'followup_stale_request', 'missing or malformed X-FollowUp-Timestamp', '', self::BODY, '' ),
			array( 'followup_stale_request', 'missing or malformed X-FollowUp-Timestamp', '-5', self::BODY, self::sign( -5, self::BODY ) ),
			array( 'followup_stale_request', 'missing or malformed X-FollowUp-Timestamp', '1767897667.5', self::BODY, self::sign( self::NOW, self::BODY ) ),
			array( 'followup_stale_request', 'timestamp outside the five-minute window', (string) ( self::NOW - 301 ), self::BODY, self::sign( self::NOW - 301, self::BODY ) ),
			array( 'followup_stale_request', 'timestamp outside the five-minute window', (string) ( self::NOW + 301 ), self::BODY, self::sign( self::NOW + 301, self::BODY ) ),
			array( 'followup_body_too_large', 'body too large', (string) self::NOW, $large, self::sign( self::NOW, $large ) ),
			array( 'followup_bad_signature', 'signature does not match', (string) self::NOW, self::BODY, self::sign( self::NOW, self::BODY, 'whsec_another_store' ) ),
			array( 'followup_bad_signature', 'signature does not match', (string) self::NOW, self::BODY . ' ', self::sign( self::NOW, self::BODY ) ),
			array( 'followup_bad_signature', 'signature does not match', (string) self::NOW, self::BODY, '' ),
		);
		foreach ( $cases as list( $code, $message, $timestamp, $body, $signature ) ) {
			$this->assertSame( array( $code, $message ), $signed->problem( $timestamp, $body, $signature, self::NOW ), $message );
		}
	}

	public function test_a_refused_request_is_a_401_wp_error_with_the_reason() {
		$signed = new FollowUp_Signed_Routes( new FollowUp_Settings() );
		$stale  = time() - 3600;
		$result = $signed->verify( self::request( self::BODY, $stale, self::sign( $stale, self::BODY ) ) );
		$this->assertInstanceOf( WP_Error::class, $result );
		$this->assertSame( 'followup_stale_request', $result->get_error_code() );
		$this->assertSame( 'timestamp outside the five-minute window', $result->get_error_message() );
		$this->assertSame( array( 'status' => 401 ), $result->get_error_data() );
	}

	public function test_without_a_saved_secret_nothing_passes() {
		update_option( FollowUp_Settings::OPTION, array( 'app_url' => 'https://app.example.com', 'store_id' => 7 ) );
		$signed  = new FollowUp_Signed_Routes( new FollowUp_Settings() );
		$problem = $signed->problem( (string) self::NOW, self::BODY, self::sign( self::NOW, self::BODY, '' ), self::NOW );
		$this->assertSame( 'followup_not_configured', $problem[0] );
		$this->assertStringContainsString( 'no webhook secret', $problem[1] );
	}
}
