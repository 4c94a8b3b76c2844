<?php
/**
 * The REST routes the app calls on this site, and the one check every one of them passes first.
 *
 * The app signs like the plugin does in the other direction: X-FollowUp-Timestamp (Unix seconds,
 * within five minutes of now) and X-FollowUp-Signature = base64(HMAC-SHA256(secret,
 * "{timestamp}.{raw body}")) with the store's webhook secret.
 *
 * @package FollowUp
 */

defined( 'ABSPATH' ) || exit;

/**
 * Registers `followup/v1/*` POST routes whose permission is a fresh, matching signature.
 */
class FollowUp_Signed_Routes {

	const ROUTE_NAMESPACE  = 'followup/v1';
	const TIMESTAMP_HEADER = 'x_followup_timestamp';
	const SIGNATURE_HEADER = 'x_followup_signature';

	/**
	 * Seconds a signed request stays valid, either way, as on the app's side.
	 */
	const TOLERANCE = 300;

	/**
	 * The app's signed bodies are small JSON documents; anything larger is refused unread.
	 */
	const MAX_BODY = 8192;

	/**
	 * Settings.
	 *
	 * @var FollowUp_Settings
	 */
	private $settings;

	/**
	 * Constructor.
	 *
	 * @param FollowUp_Settings $settings Settings.
	 */
	public function __construct( FollowUp_Settings $settings ) {
		$this->settings = $settings;
	}

	/**
	 * Register one signed POST route under followup/v1; call it from rest_api_init.
	 *
	 * @param string   $route    Route, such as '/coupons'.
	 * @param callable $callback Runs only after verify() passed.
	 */
	public function add( $route, $callback ) {
		register_rest_route(
			self::ROUTE_NAMESPACE,
			$route,
			array(
				'methods'             => 'POST',
				'callback'            => $callback,
				'permission_callback' => array( $this, 'verify' ),
			)
		);
	}

	/**
	 * Permission callback of every signed route.
	 *
	 * @param WP_REST_Request $request Request.
	 * @return true|WP_Error
	 */
	public function verify( $request ) {
		$problem = $this->problem(
			(string) $request->get_header( self::TIMESTAMP_HEADER ),
			(string) $request->get_body(),
			(string) $request->get_header( self::SIGNATURE_HEADER ),
			time()
		);
		if ( null === $problem ) {
			return true;
		}
		list( $code, $message ) = $problem;
		return new WP_Error( $code, $message, array( 'status' => 401 ) );
	}

	/**
	 * Why a signed call is refused, as an error code and a message, or null when it is authentic
	 * and fresh.
	 *
	 * @param string $timestamp Unix seconds from X-FollowUp-Timestamp.
	 * @param string $body      Raw body.
	 * @param string $signature X-FollowUp-Signature.
	 * @param int    $now       Current Unix time.
	 * @return array{0: string, 1: string}|null
	 */
	public function problem( $timestamp, $body, $signature, $now ) {
		if ( ! $this->settings->has_secret() ) {
			return array( 'followup_not_configured', __( 'FollowUp is not configured on this store: no webhook secret is saved.', 'followup-for-woocommerce' ) );
		}
		if ( ! ctype_digit( $timestamp ) ) {
			return array( 'followup_stale_request', __( 'missing or malformed X-FollowUp-Timestamp', 'followup-for-woocommerce' ) );
		}
		if ( abs( (int) $now - (int) $timestamp ) > self::TOLERANCE ) {
			return array( 'followup_stale_request', __( 'timestamp outside the five-minute window', 'followup-for-woocommerce' ) );
		}
		if ( strlen( $body ) > self::MAX_BODY ) {
			return array( 'followup_body_too_large', __( 'body too large', 'followup-for-woocommerce' ) );
		}
		$signer = new FollowUp_Signer( $this->settings->secret() );
		if ( ! $signer->verify( (int) $timestamp, $body, $signature ) ) {
			return array( 'followup_bad_signature', __( 'signature does not match', 'followup-for-woocommerce' ) );
		}
		return null;
	}
}
