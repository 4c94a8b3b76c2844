<?php
/**
 * Restore tokens: 128 random bits plus an HMAC, so links cannot be guessed or forged.
 *
 * Unlike a base64 session id (which anyone can mint), a token is only valid if this store's
 * secret signed it, and it is checked in constant time before anything else happens.
 *
 * @package FollowUp
 */

defined( 'ABSPATH' ) || exit;

/**
 * Issues and verifies restore tokens of the form "{id}.{signature}".
 */
class FollowUp_Restore_Token {

	const PATTERN = '/^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{22}$/';

	/**
	 * Shared secret.
	 *
	 * @var string
	 */
	private $secret;

	/**
	 * Constructor.
	 *
	 * @param string $secret Shared webhook secret.
	 */
	public function __construct( $secret ) {
		$this->secret = (string) $secret;
	}

	/**
	 * A fresh token for a new cart.
	 *
	 * @return string
	 */
	public function issue() {
		$id = self::b64url( random_bytes( 16 ) );
		return $id . '.' . $this->signature( $id );
	}

	/**
	 * True only for a well-formed token this secret signed.
	 *
	 * @param mixed $token Candidate from a URL or session.
	 * @return bool
	 */
	public function verify( $token ) {
		if ( '' === $this->secret || ! is_string( $token ) || ! preg_match( self::PATTERN, $token ) ) {
			return false;
		}
		list( $id, $signature ) = explode( '.', $token, 2 );
		return hash_equals( $this->signature( $id ), $signature );
	}

	/**
	 * Truncated HMAC (128 bits) bound to this purpose, so a signature from elsewhere never fits.
	 *
	 * @param string $id Random id.
	 * @return string
	 */
	private function signature( $id ) {
		return self::b64url( substr( hash_hmac( 'sha256', 'followup-restore:' . $id, $this->secret, true ), 0, 16 ) );
	}

	/**
	 * URL-safe base64 without padding.
	 *
	 * @param string $bytes Raw bytes.
	 * @return string
	 */
	private static function b64url( $bytes ) {
		return rtrim( strtr( base64_encode( $bytes ), '+/', '-_' ), '=' ); // phpcs:ignore WordPress.PHP.DiscouragedPHPFunctions.obfuscation_base64_encode
	}
}
