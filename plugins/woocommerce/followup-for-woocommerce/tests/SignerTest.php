<?php
// phpcs:disable
require_once __DIR__ . '/FollowUpTestCase.php';

class SignerTest extends FollowUpTestCase {

	public function test_signature_matches_the_documented_algorithm() {
		$signer = new FollowUp_Signer( 'wc_test_secret_do_not_use' );
		$body   = '{"type":"cart.updated"}';
		$expect = base64_encode( hash_hmac( 'sha256', '1767897667.' . $body, 'wc_test_secret_do_not_use', true ) );
		$this->assertSame( $expect, $signer->sign( 1767897667, $body ) );
		$this->assertTrue( $signer->verify( 1767897667, $body, $expect ) );
	}

	public function test_any_change_breaks_the_signature() {
		$signer = new FollowUp_Signer( 'wc_test_secret_do_not_use' );
		$sig    = $signer->sign( 1767897667, '{"total":"71.50"}' );
		$this->assertFalse( $signer->verify( 1767897667, '{"total":"1.50"}', $sig ) );
		$this->assertFalse( $signer->verify( 1767897668, '{"total":"71.50"}', $sig ) );
		$this->assertFalse( ( new FollowUp_Signer( 'another_secret' ) )->verify( 1767897667, '{"total":"71.50"}', $sig ) );
		$this->assertFalse( ( new FollowUp_Signer( '' ) )->verify( 1767897667, '{"total":"71.50"}', ( new FollowUp_Signer( '' ) )->sign( 1767897667, '{"total":"71.50"}' ) ) );
	}

	public function test_client_sends_signed_headers_and_exact_body() {
		$client   = new FollowUp_Client( new FollowUp_Settings() );
		$response = $client->send( 'cart.updated', array( 'type' => 'cart.updated', 'name' => 'Thé vert' ), 'delivery-1' );
		$this->assertTrue( $response->ok() );
		$request = $GLOBALS['followup_test']['http'][0];
		$this->assertSame( 'https://app.example.com/webhooks/woocommerce/7', $request['url'] );
		$headers = $request['args']['headers'];
		$this->assertSame( 'cart.updated', $headers['X-FollowUp-Event'] );
		$this->assertSame( 'delivery-1', $headers['X-FollowUp-Delivery-Id'] );
		$this->assertEqualsWithDelta( time(), (int) $headers['X-FollowUp-Timestamp'], 2 );
		$this->assertTrue( ( new FollowUp_Signer( self::SECRET ) )->verify( $headers['X-FollowUp-Timestamp'], $request['args']['body'], $headers['X-FollowUp-Signature'] ) );
		$this->assertSame( 0, $request['args']['redirection'] );
	}

	public function test_unconfigured_client_sends_nothing() {
		update_option( FollowUp_Settings::OPTION, array() );
		$response = ( new FollowUp_Client( new FollowUp_Settings() ) )->send( 'cart.updated', array(), 'd' );
		$this->assertFalse( $response->ok() );
		$this->assertSame( array(), $GLOBALS['followup_test']['http'] );
	}
}
