<?php
/**
 * Signed REST routes the app calls on this site: our outbound signature scheme, in the other direction.
 *
 * @package FollowUp
 */

defined( 'ABSPATH' ) || exit;

/**
 * `followup/v1/*`: only a caller holding the webhook secret gets through.
 */
class FollowUp_Rest {

	const ROUTE_NAMESPACE = 'followup/v1';

	/**
	 * Seconds a signed request stays valid, as on the app's side.
	 */
	const MAX_SKEW = 300;

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
	 * Hooks.
	 */
	public function register() {
		add_action( 'rest_api_init', array( $this, 'routes' ) );
	}

	/**
	 * Routes.
	 */
	public function routes() {
		register_rest_route(
			self::ROUTE_NAMESPACE,
			'/status',
			array(
				'methods'             => 'POST',
				'callback'            => array( $this, 'status' ),
				'permission_callback' => array( $this, 'verify' ),
			)
		);
	}

	/**
	 * Permission callback for every signed route: a fresh X-FollowUp-Timestamp and an
	 * X-FollowUp-Signature over "{timestamp}.{raw body}" with the shared secret.
	 *
	 * @param WP_REST_Request $request Request.
	 * @return true|WP_Error
	 */
	public function verify( $request ) {
		if ( ! $this->settings->has_secret() ) {
			return new WP_Error( 'followup_not_configured', __( 'FollowUp is not configured on this site.', 'followup-for-woocommerce' ), array( 'status' => 503 ) );
		}
		$timestamp = (int) $request->get_header( 'X-FollowUp-Timestamp' );
		if ( abs( time() - $timestamp ) > self::MAX_SKEW ) {
			return new WP_Error( 'followup_stale_request', __( 'The request timestamp is missing or too old.', 'followup-for-woocommerce' ), array( 'status' => 401 ) );
		}
		$signer = new FollowUp_Signer( $this->settings->secret() );
		if ( ! $signer->verify( $timestamp, $request->get_body(), (string) $request->get_header( 'X-FollowUp-Signature' ) ) ) {
			return new WP_Error( 'followup_bad_signature', __( 'The request signature does not match.', 'followup-for-woocommerce' ), array( 'status' => 401 ) );
		}
		return true;
	}

	/**
	 * What the app needs to know that it reached the right, working plugin.
	 *
	 * @return WP_REST_Response
	 */
	public function status() {
		return rest_ensure_response(
			array(
				'plugin'      => FOLLOWUP_VERSION,
				'wordpress'   => get_bloginfo( 'version' ),
				'woocommerce' => defined( 'WC_VERSION' ) ? WC_VERSION : WC()->version,
				'store_id'    => (int) $this->settings->get( 'store_id' ),
			)
		);
	}
}
