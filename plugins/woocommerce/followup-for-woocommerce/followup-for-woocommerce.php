<?php
/**
 * Plugin Name:          FollowUp for WooCommerce
 * Plugin URI:           https://github.com/followup-app/followup
 * Description:          Real-time cart capture and one-click cart restore for FollowUp, the self-hosted abandoned-checkout recovery app.
 * Version:              0.1.0
 * Requires at least:    6.2
 * Requires PHP:         7.4
 * Requires Plugins:     woocommerce
 * Author:               FollowUp
 * License:              AGPL-3.0-or-later
 * License URI:          https://www.gnu.org/licenses/agpl-3.0.html
 * Text Domain:          followup-for-woocommerce
 * Domain Path:          /languages
 * WC requires at least: 8.0
 * WC tested up to:      10.1
 *
 * @package FollowUp
 */

defined( 'ABSPATH' ) || exit;

define( 'FOLLOWUP_VERSION', '0.1.0' );
define( 'FOLLOWUP_PLUGIN_FILE', __FILE__ );
define( 'FOLLOWUP_PLUGIN_DIR', __DIR__ . '/' );

require_once FOLLOWUP_PLUGIN_DIR . 'includes/class-followup-plugin.php';

// Declare that we work with HPOS order tables and the block checkout.
add_action(
	'before_woocommerce_init',
	static function () {
		if ( class_exists( '\Automattic\WooCommerce\Utilities\FeaturesUtil' ) ) {
			\Automattic\WooCommerce\Utilities\FeaturesUtil::declare_compatibility( 'custom_order_tables', FOLLOWUP_PLUGIN_FILE, true );
			\Automattic\WooCommerce\Utilities\FeaturesUtil::declare_compatibility( 'cart_checkout_blocks', FOLLOWUP_PLUGIN_FILE, true );
		}
	}
);

add_action( 'plugins_loaded', array( 'FollowUp_Plugin', 'boot' ) );
