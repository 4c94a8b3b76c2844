<?php
/**
 * Signs our events exactly as the app verifies them: base64(HMAC-SHA256(secret, "{timestamp}.{body}")).
 *
 * @package FollowUp
 */

defined( 'ABSPATH' ) || exit;

/**
 * Builds the signature and the X-FollowUp-* headers for one delivery.
 */
class FollowUp_Signer {

	/**
	 * Shared webhook secret.
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
	 * Signature over the timestamp and the exact bytes sent, so a replay or an edit is refused.
	 *
	 * @param int    $timestamp Unix seconds.
	 * @param string $body      Raw JSON body.
	 * @return string
	 */
	public function sign( $timestamp, $body ) {
		return base64_encode( hash_hmac( 'sha256', (int) $timestamp . '.' . $body, $this->secret, true ) ); // phpcs:ignore WordPress.PHP.DiscouragedPHPFunctions.obfuscation_base64_encode
	}

	/**
	 * Constant-time check, used by tests and by anything that receives our own signatures.
	 *
	 * @param int    $timestamp Unix seconds.
	 * @param string $body      Raw body.
	 * @param string $signature Received signature.
	 * @return bool
	 */
	public function verify( $timestamp, $body, $signature ) {
		return '' !== $this->secret && hash_equals( $this->sign( $timestamp, $body ), (string) $signature );
	}

	/**
	 * Headers for one delivery; the delivery id stays the same across retries so the app dedupes.
	 *
	 * @param string $event       cart.updated, order.placed, connection.test or restore.lookup.
	 * @param string $body        Raw JSON body.
	 * @param string $delivery_id Stable id of this delivery.
	 * @param int    $timestamp   Unix seconds, fresh for every attempt.
	 * @return array
	 */
	public function headers( $event, $body, $delivery_id, $timestamp ) {
		return array(
			'Content-Type'           => 'application/json',
			'X-FollowUp-Event'       => $event,
			'X-FollowUp-Timestamp'   => (string) (int) $timestamp,
			'X-FollowUp-Delivery-Id' => $delivery_id,
			'X-FollowUp-Signature'   => $this->sign( $timestamp, $body ),
		);
	}
}
