<?php
/**
 * PHPUnit bootstrap: a small shim of the WordPress and WooCommerce functions the plugin calls.
 *
 * @package FollowUp
 */

define( 'ABSPATH', __DIR__ . '/' );
define( 'FOLLOWUP_VERSION', 'test' );
define( 'FOLLOWUP_PLUGIN_FILE', dirname( __DIR__ ) . '/followup-for-woocommerce.php' );
define( 'FOLLOWUP_PLUGIN_DIR', dirname( __DIR__ ) . '/' );

require_once __DIR__ . '/wp-shim.php';
require_once __DIR__ . '/fakes.php';
require_once __DIR__ . '/coupon-shim.php';
require_once FOLLOWUP_PLUGIN_DIR . 'includes/class-followup-plugin.php';
FollowUp_Plugin::load();
