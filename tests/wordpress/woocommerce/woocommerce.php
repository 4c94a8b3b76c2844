<?php
/**
 * Plugin Name: WooCommerce (FollowUp test stand-in)
 * Description: Test-only stand-in, installed under the slug "woocommerce" in the test WordPress. It provides only what FollowUp for WooCommerce touches at boot and on its settings tab, following WooCommerce's own names and hooks: the WooCommerce class, the wc-settings page with its tabs, nonce and save hooks, woocommerce_admin_fields() and WC_Admin_Settings::add_error(). Carts, orders and checkout stay on the PHPUnit shim (plugins/woocommerce/followup-for-woocommerce/tests/wp-shim.php).
 * Version: 0.0.1
 *
 * @package FollowUp
 */

defined( 'ABSPATH' ) || exit;

final class WooCommerce {
	public $version = '0.0.1-standin';
}

function WC() {
	static $instance = null;
	return $instance ? $instance : ( $instance = new WooCommerce() );
}

class WC_Admin_Settings {
	public static $errors = array();

	public static function add_error( $text ) {
		self::$errors[] = $text;
	}

	/** WooCommerce reads `option[key]` ids from the option's array, as here. */
	public static function get_option( $id ) {
		if ( preg_match( '/^([^\[]+)\[([^\]]+)\]$/', $id, $m ) ) {
			$value = get_option( $m[1], array() );
			return is_array( $value ) && isset( $value[ $m[2] ] ) ? $value[ $m[2] ] : '';
		}
		return get_option( $id, '' );
	}
}

function woocommerce_admin_fields( $fields ) {
	foreach ( $fields as $field ) {
		$id    = isset( $field['id'] ) ? $field['id'] : '';
		$value = WC_Admin_Settings::get_option( $id );
		switch ( $field['type'] ) {
			case 'title':
				printf( '<h2>%s</h2><p>%s</p><table class="form-table">', esc_html( $field['title'] ), esc_html( isset( $field['desc'] ) ? $field['desc'] : '' ) );
				break;
			case 'sectionend':
				echo '</table>';
				break;
			case 'url':
			case 'number':
			case 'text':
				printf( '<tr><th><label for="%1$s">%2$s</label></th><td><input type="%3$s" id="%1$s" name="%1$s" value="%4$s" /></td></tr>', esc_attr( $id ), esc_html( $field['title'] ), esc_attr( $field['type'] ), esc_attr( $value ) );
				break;
			case 'checkbox':
				printf( '<tr><th>%2$s</th><td><label><input type="checkbox" id="%1$s" name="%1$s" value="1" %3$s /> %4$s</label></td></tr>', esc_attr( $id ), esc_html( $field['title'] ), checked( 'yes', $value, false ), esc_html( isset( $field['desc'] ) ? $field['desc'] : '' ) );
				break;
			case 'textarea':
				printf( '<tr><th><label for="%1$s">%2$s</label></th><td><textarea id="%1$s" name="%1$s">%3$s</textarea></td></tr>', esc_attr( $id ), esc_html( $field['title'] ), esc_textarea( $value ) );
				break;
			default:
				do_action( 'woocommerce_admin_field_' . $field['type'], $field );
		}
	}
}

add_action(
	'admin_menu',
	static function () {
		add_menu_page( 'WooCommerce', 'WooCommerce', 'manage_woocommerce', 'woocommerce', '__return_null' );
		add_submenu_page( 'woocommerce', 'Settings', 'Settings', 'manage_woocommerce', 'wc-settings', 'followup_standin_settings_page' );
	}
);

// WooCommerce grants its capabilities to administrators on install.
add_filter(
	'user_has_cap',
	static function ( $allcaps ) {
		if ( ! empty( $allcaps['manage_options'] ) ) {
			$allcaps['manage_woocommerce'] = true;
		}
		return $allcaps;
	}
);

// Saving happens before any output, as in WC_Admin_Menus::save_settings().
add_action(
	'load-woocommerce_page_wc-settings',
	static function () {
		$tab = isset( $_GET['tab'] ) ? sanitize_key( wp_unslash( $_GET['tab'] ) ) : 'general';
		if ( ! empty( $_POST['save'] ) ) {
			check_admin_referer( 'woocommerce-settings' );
			do_action( 'woocommerce_update_options_' . $tab );
			if ( ! WC_Admin_Settings::$errors ) {
				$GLOBALS['followup_standin_saved'] = true;
			}
		}
	}
);

function followup_standin_settings_page() {
	$tabs    = apply_filters( 'woocommerce_settings_tabs_array', array() );
	$current = isset( $_GET['tab'] ) ? sanitize_key( wp_unslash( $_GET['tab'] ) ) : 'general';
	echo '<div class="wrap woocommerce"><nav class="nav-tab-wrapper">';
	foreach ( $tabs as $slug => $label ) {
		printf( '<a class="nav-tab%s" href="%s">%s</a>', $slug === $current ? ' nav-tab-active' : '', esc_url( admin_url( 'admin.php?page=wc-settings&tab=' . $slug ) ), esc_html( $label ) );
	}
	echo '</nav>';
	foreach ( WC_Admin_Settings::$errors as $error ) {
		printf( '<div id="message" class="error inline"><p><strong>%s</strong></p></div>', esc_html( $error ) );
	}
	if ( ! empty( $GLOBALS['followup_standin_saved'] ) ) {
		echo '<div id="message" class="updated inline"><p><strong>Your settings have been saved.</strong></p></div>';
	}
	echo '<form method="post" id="mainform" action="" enctype="multipart/form-data">';
	do_action( 'woocommerce_settings_tabs_' . $current );
	wp_nonce_field( 'woocommerce-settings' );
	echo '<p class="submit"><button name="save" class="button-primary" type="submit" value="Save changes">Save changes</button></p></form></div>';
}
