<?php
/**
 * Run one command inside a test WordPress and print a JSON line: php wp-run.php ROOT COMMAND [ARG].
 *
 * @package FollowUp
 */

// phpcs:disable

list( , $root, $command ) = $argv;
$arg = isset( $argv[3] ) ? $argv[3] : '';
$_SERVER['HTTP_HOST']   = '127.0.0.1';
$_SERVER['REQUEST_URI'] = '/';
if ( 'install' === $command ) {
	define( 'WP_INSTALLING', true );
	// Pluggable: the welcome mail has nowhere to go here.
	function wp_new_blog_notification() {}
}
require $root . '/wp-load.php';
require_once ABSPATH . 'wp-admin/includes/plugin.php';
wp_set_current_user( 1 );

switch ( $command ) {
	case 'install':
		require_once ABSPATH . 'wp-admin/includes/upgrade.php';
		$result = wp_install( 'Tidewater Teas', 'admin', 'admin@example.com', false, '', 'admin-password-1' );
		$out    = array( 'user_id' => $result['user_id'], 'version' => get_bloginfo( 'version' ) );
		break;
	case 'activate':
		$result = activate_plugin( $arg );
		$out    = is_wp_error( $result ) ? array( 'error' => $result->get_error_code(), 'message' => $result->get_error_message() ) : array( 'active' => is_plugin_active( $arg ) );
		break;
	case 'deactivate':
		deactivate_plugins( $arg );
		$out = array( 'active' => is_plugin_active( $arg ) );
		break;
	case 'active':
		$out = array( 'active' => is_plugin_active( $arg ) );
		break;
	case 'option':
		$out = array( 'value' => get_option( $arg, null ) );
		break;
	case 'uninstall':
		deactivate_plugins( $arg );
		uninstall_plugin( $arg );
		$out = array( 'uninstalled' => true );
		break;
	default:
		fwrite( STDERR, "unknown command $command\n" );
		exit( 2 );
}
echo "\n", wp_json_encode( $out ), "\n";
