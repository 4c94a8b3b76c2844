<?php
/**
 * The signed status route: the app checks it reached the right, working plugin.
 *
 * @package FollowUp
 */

defined( 'ABSPATH' ) || exit;

/**
 * POST followup/v1/status, behind the same signature check as every signed route.
 */
class FollowUp_Rest {

	/**
	 * Settings.
	 *
	 * @var FollowUp_Settings
	 */
	private $settings;

	/**
	 * The signed routes this one joins.
	 *
	 * @var FollowUp_Signed_Routes
	 */
	private $routes;

	/**
	 * Constructor.
	 *
	 * @param FollowUp_Settings      $settings Settings.
	 * @param FollowUp_Signed_Routes $routes   Signed routes.
	 */
	public function __construct( FollowUp_Settings $settings, FollowUp_Signed_Routes $routes ) {
		$this->settings = $settings;
		$this->routes   = $routes;
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
		$this->routes->add( '/status', array( $this, 'status' ) );
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
