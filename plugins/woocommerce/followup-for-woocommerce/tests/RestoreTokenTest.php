<?php
// phpcs:disable
require_once __DIR__ . '/FollowUpTestCase.php';

class RestoreTokenTest extends FollowUpTestCase {

	public function test_issued_tokens_verify_and_are_unique() {
		$tokens = new FollowUp_Restore_Token( self::SECRET );
		$seen   = array();
		for ( $i = 0; $i < 50; $i++ ) {
			$token = $tokens->issue();
			$this->assertMatchesRegularExpression( FollowUp_Restore_Token::PATTERN, $token );
			$this->assertTrue( $tokens->verify( $token ) );
			$seen[ $token ] = true;
		}
		$this->assertCount( 50, $seen );
	}

	public function test_forged_tampered_and_foreign_tokens_are_refused() {
		$tokens = new FollowUp_Restore_Token( self::SECRET );
		$token  = $tokens->issue();
		list( $id, $sig ) = explode( '.', $token );
		$flipped = $sig;
		$flipped[0] = 'A' === $flipped[0] ? 'B' : 'A';
		$this->assertFalse( $tokens->verify( $id . '.' . $flipped ) );
		$this->assertFalse( $tokens->verify( strrev( $id ) . '.' . $sig ) );
		$this->assertFalse( ( new FollowUp_Restore_Token( 'a_different_store_secret' ) )->verify( $token ) );
		$this->assertFalse( ( new FollowUp_Restore_Token( '' ) )->verify( $token ) );
		// CartFlows-style unsigned token (base64 of a session id) is never accepted.
		$this->assertFalse( $tokens->verify( base64_encode( 'session-42' ) ) );
		foreach ( array( '', null, array( $token ), $token . ' ', $id, $token . '.x' ) as $bad ) {
			$this->assertFalse( $tokens->verify( $bad ) );
		}
	}

	public function test_session_token_is_stable_and_a_tampered_one_is_replaced() {
		$tokens = new FollowUp_Restore_Token( self::SECRET );
		$first  = FollowUp_Session::token( $tokens );
		$this->assertSame( $first, FollowUp_Session::token( $tokens ) );
		WC()->session->set( FollowUp_Session::TOKEN, 'forged.token' );
		$this->assertNotSame( 'forged.token', FollowUp_Session::token( $tokens ) );
		$this->assertStringStartsWith( 'https://shop.tidewaterteas.example/?followup_restore=', FollowUp_Session::recovery_url( $first ) );
	}
}
