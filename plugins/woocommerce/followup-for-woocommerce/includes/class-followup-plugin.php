<?php
/**
 * Wires the plugin's parts together once WooCommerce is known to be active.
 *
 * @package FollowUp
 */

defined( 'ABSPATH' ) || exit;

/**
 * Bootstrap: loads the classes, builds the shared services and registers their hooks.
 */
final class FollowUp_Plugin {

	/**
	 * Class files, in dependency order.
	 *
	 * @var string[]
	 */
	const FILES = array(
		'class-followup-settings.php',
		'class-followup-signer.php',
		'class-followup-response.php',
		'class-followup-client.php',
		'class-followup-restore-token.php',
		'class-followup-birthday.php',
		'class-followup-payload.php',
		'class-followup-session.php',
		'class-followup-queue.php',
		'class-followup-consent.php',
		'class-followup-capture.php',
		'class-followup-restore.php',
		'class-followup-orders.php',
		'class-followup-signed-routes.php',
		'class-followup-coupons.php',
		'class-followup-admin.php',
		'class-followup-rest.php',
		'class-followup-products.php',
		'class-followup-chat.php',
	);

	/**
	 * Load every class without registering hooks (tests and the contract script use this).
	 */
	public static function load() {
		foreach ( self::FILES as $file ) {
			require_once FOLLOWUP_PLUGIN_DIR . 'includes/' . $file;
		}
	}

	/**
	 * Runs on plugins_loaded: without WooCommerce there is nothing to capture, so we only explain why.
	 */
	public static function boot() {
		if ( ! class_exists( 'WooCommerce' ) ) {
			add_action( 'admin_notices', array( __CLASS__, 'missing_woocommerce_notice' ) );
			return;
		}
		load_plugin_textdomain( 'followup-for-woocommerce', false, dirname( plugin_basename( FOLLOWUP_PLUGIN_FILE ) ) . '/languages' );
		self::load();

		$settings = new FollowUp_Settings();
		$client   = new FollowUp_Client( $settings );
		$queue    = new FollowUp_Queue( $client );
		$tokens   = new FollowUp_Restore_Token( $settings->secret() );
		$signed   = new FollowUp_Signed_Routes( $settings );

		( new FollowUp_Admin( $settings, $client ) )->register();
		( new FollowUp_Consent( $settings ) )->register();
		( new FollowUp_Birthday( $settings ) )->register();
		( new FollowUp_Capture( $settings, $queue, $tokens ) )->register();
		( new FollowUp_Restore( $settings, $client, $tokens ) )->register();
		( new FollowUp_Orders( $settings, $queue ) )->register();
		( new FollowUp_Coupons( $signed ) )->register();
		( new FollowUp_Products( $signed ) )->register();
		( new FollowUp_Chat( $settings ) )->register();
		$queue->register();
		( new FollowUp_Rest( $settings, $signed ) )->register();
	}

	/**
	 * Shown to administrators only, so shoppers never see plugin housekeeping.
	 */
	public static function missing_woocommerce_notice() {
		if ( ! current_user_can( 'activate_plugins' ) ) {
			return;
		}
		printf(
			'<div class="notice notice-error"><p>%s</p></div>',
			esc_html__( 'FollowUp for WooCommerce needs WooCommerce to be installed and active.', 'followup-for-woocommerce' )
		);
	}
}
