<?php
/**
 * What we remember per shopper lives in WooCommerce's own session, which expires with it.
 *
 * @package FollowUp
 */

defined( 'ABSPATH' ) || exit;

/**
 * Restore token and captured contact, kept in the WooCommerce session only.
 */
class FollowUp_Session {

	const TOKEN   = 'followup_token';
	const CONTACT = 'followup_contact';

	/**
	 * The current session, or null outside a shopper request.
	 *
	 * @return object|null
	 */
	private static function session() {
		return ( function_exists( 'WC' ) && WC()->session ) ? WC()->session : null;
	}

	/**
	 * This cart's restore token, issued on first use; a tampered session value is replaced.
	 *
	 * @param FollowUp_Restore_Token $tokens Token issuer.
	 * @return string
	 */
	public static function token( FollowUp_Restore_Token $tokens ) {
		$session = self::session();
		if ( null === $session ) {
			return '';
		}
		$token = $session->get( self::TOKEN );
		if ( ! $tokens->verify( $token ) ) {
			$token = $tokens->issue();
			$session->set( self::TOKEN, $token );
		}
		return (string) $token;
	}

	/**
	 * Adopt a token from a restore link, so the restored cart stays the same checkout in the app.
	 *
	 * @param string $token Verified token.
	 */
	public static function adopt_token( $token ) {
		$session = self::session();
		if ( null !== $session ) {
			$session->set( self::TOKEN, (string) $token );
		}
	}

	/**
	 * Forget the token once an order is placed, so the next cart is a new checkout.
	 */
	public static function forget_token() {
		$session = self::session();
		if ( null !== $session ) {
			$session->set( self::TOKEN, null );
		}
	}

	/**
	 * The contact the shopper typed at checkout, if any.
	 *
	 * @return array
	 */
	public static function contact() {
		$session = self::session();
		$contact = null !== $session ? $session->get( self::CONTACT ) : null;
		return is_array( $contact ) ? $contact : array();
	}

	/**
	 * Remember the contact for this session (and make sure the session cookie exists for guests).
	 *
	 * @param array $contact Sanitized contact fields.
	 */
	public static function set_contact( array $contact ) {
		$session = self::session();
		if ( null === $session ) {
			return;
		}
		if ( method_exists( $session, 'has_session' ) && ! $session->has_session() && method_exists( $session, 'set_customer_session_cookie' ) ) {
			$session->set_customer_session_cookie( true );
		}
		$session->set( self::CONTACT, $contact );
	}

	/**
	 * Key of the current session, which a queued retry uses to read the contact again.
	 *
	 * @return string
	 */
	public static function key() {
		$session = self::session();
		return ( null !== $session && method_exists( $session, 'get_customer_id' ) ) ? (string) $session->get_customer_id() : '';
	}

	/**
	 * Read the contact of another session from WooCommerce's session table (queued retries).
	 *
	 * @param string $key Session key.
	 * @return array
	 */
	public static function contact_for_key( $key ) {
		if ( '' === (string) $key || ! class_exists( 'WC_Session_Handler' ) ) {
			return array();
		}
		$handler = new WC_Session_Handler();
		$data    = $handler->get_session( (string) $key, array() );
		$contact = is_array( $data ) && isset( $data[ self::CONTACT ] ) ? maybe_unserialize( $data[ self::CONTACT ] ) : array();
		return is_array( $contact ) ? $contact : array();
	}

	/**
	 * The link that brings the shopper back to this cart.
	 *
	 * @param string $token Restore token.
	 * @return string
	 */
	public static function recovery_url( $token ) {
		return add_query_arg( 'followup_restore', rawurlencode( $token ), home_url( '/' ) );
	}
}
