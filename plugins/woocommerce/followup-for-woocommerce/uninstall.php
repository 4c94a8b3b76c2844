<?php
/**
 * Removes everything the plugin stored: its settings option and its queued deliveries.
 *
 * Order meta (the restore token and reported stages) stays with the orders, as WooCommerce keeps them.
 *
 * @package FollowUp
 */

defined( 'WP_UNINSTALL_PLUGIN' ) || exit;

delete_option( 'followup_settings' );

if ( function_exists( 'as_unschedule_all_actions' ) ) {
	as_unschedule_all_actions( 'followup_deliver', array(), 'followup' );
}
