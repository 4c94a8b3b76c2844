<?php
/**
 * Real-time capture: the checkout script posts the contact here, and we send the cart to the app.
 *
 * @package FollowUp
 */

defined( 'ABSPATH' ) || exit;

/**
 * AJAX endpoint, script loader and cart-change hooks.
 */
class FollowUp_Capture {

	const ACTION      = 'followup_capture';
	const EXIT_ACTION = 'followup_exit';
	const NONCE       = 'followup_capture';

	/**
	 * Settings.
	 *
	 * @var FollowUp_Settings
	 */
	private $settings;

	/**
	 * Queue.
	 *
	 * @var FollowUp_Queue
	 */
	private $queue;

	/**
	 * Token issuer.
	 *
	 * @var FollowUp_Restore_Token
	 */
	private $tokens;

	/**
	 * Set when the cart changed during this request.
	 *
	 * @var bool
	 */
	private $dirty = false;

	/**
	 * Constructor.
	 *
	 * @param FollowUp_Settings      $settings Settings.
	 * @param FollowUp_Queue         $queue    Queue.
	 * @param FollowUp_Restore_Token $tokens   Tokens.
	 */
	public function __construct( FollowUp_Settings $settings, FollowUp_Queue $queue, FollowUp_Restore_Token $tokens ) {
		$this->settings = $settings;
		$this->queue    = $queue;
		$this->tokens   = $tokens;
	}

	/**
	 * Hooks.
	 */
	public function register() {
		if ( ! $this->settings->is_configured() ) {
			return;
		}
		add_action( 'wp_enqueue_scripts', array( $this, 'enqueue' ) );
		add_action( 'wp_ajax_' . self::ACTION, array( $this, 'ajax' ) );
		add_action( 'wp_ajax_nopriv_' . self::ACTION, array( $this, 'ajax' ) );
		add_action( 'wp_ajax_' . self::EXIT_ACTION, array( $this, 'exit_ajax' ) );
		add_action( 'wp_ajax_nopriv_' . self::EXIT_ACTION, array( $this, 'exit_ajax' ) );
		foreach ( array( 'woocommerce_add_to_cart', 'woocommerce_cart_item_removed', 'woocommerce_after_cart_item_quantity_update', 'woocommerce_applied_coupon', 'woocommerce_removed_coupon' ) as $hook ) {
			add_action( $hook, array( $this, 'mark_dirty' ) );
		}
		add_action( 'shutdown', array( $this, 'flush' ) );
		add_action( 'woocommerce_after_checkout_billing_form', array( $this, 'honeypot' ) );
	}

	/**
	 * A field people never see or fill; bots that fill every input are ignored.
	 */
	public function honeypot() {
		echo '<input type="text" name="followup_hp" value="" tabindex="-1" autocomplete="off" aria-hidden="true" style="position:absolute;left:-9999px;height:1px;width:1px;overflow:hidden" />';
	}

	/**
	 * Load the capture script on the checkout page only (classic and block checkouts).
	 */
	public function enqueue() {
		if ( ! function_exists( 'is_checkout' ) || ! is_checkout() || is_order_received_page() ) {
			return;
		}
		wp_enqueue_script( 'followup-capture', plugins_url( 'assets/js/followup-capture.js', FOLLOWUP_PLUGIN_FILE ), array(), FOLLOWUP_VERSION, true );
		wp_localize_script(
			'followup-capture',
			'followupCapture',
			array(
				'ajaxUrl'  => admin_url( 'admin-ajax.php' ),
				'action'   => self::ACTION,
				'exit'     => self::EXIT_ACTION,
				'nonce'    => wp_create_nonce( self::NONCE ),
				'debounce' => 600,
			)
		);
	}

	/**
	 * The AJAX endpoint: verify the nonce, keep the contact in the session, send the cart.
	 */
	public function ajax() {
		if ( false === check_ajax_referer( self::NONCE, 'nonce', false ) ) {
			wp_send_json_error( array( 'reason' => 'bad_nonce' ), 403 );
		}
		$post = wp_unslash( $_POST ); // phpcs:ignore WordPress.Security.NonceVerification.Missing -- verified above; each field is sanitized in contact_from_request().
		if ( ! empty( $post['followup_hp'] ) ) {
			wp_send_json_success( array( 'sent' => false ) ); // A bot filled the hidden field: say nothing useful.
		}
		$contact = self::contact_from_request( (array) $post, $this->settings->sms_consent_shown() );
		$contact['user_id'] = get_current_user_id(); // A signed-in customer's birthday may be in user meta.
		if ( '' === $contact['email'] && '' === $contact['phone'] ) {
			wp_send_json_error( array( 'reason' => 'no_contact' ), 400 );
		}
		if ( ! WC()->cart || WC()->cart->is_empty() ) {
			wp_send_json_success( array( 'sent' => false ) );
		}
		FollowUp_Session::set_contact( $contact );
		WC()->cart->calculate_totals();
		$job      = $this->cart_job();
		$response = $this->queue->deliver_now( $job, FollowUp_Payload::cart_event( $job['delivery_id'], $job['cart'], $contact, $job['device'], time() ) );
		wp_send_json_success(
			array(
				'sent'   => $response->ok(),
				'queued' => ! $response->ok() && $response->retryable(),
			)
		);
	}

	/**
	 * The checkout script saw the shopper leave the page: tell the app, so a store that counts
	 * from exits can call the cart abandoned sooner. Only for a session whose contact we know.
	 */
	public function exit_ajax() {
		if ( false === check_ajax_referer( self::NONCE, 'nonce', false ) ) {
			wp_send_json_error( array( 'reason' => 'bad_nonce' ), 403 );
		}
		$contact = FollowUp_Session::contact();
		if ( empty( $contact['email'] ) && empty( $contact['phone'] ) ) {
			wp_send_json_success( array( 'sent' => false ) );
		}
		$job      = FollowUp_Queue::job(
			'checkout.exited',
			array(
				'token'     => FollowUp_Session::token( $this->tokens ),
				'exited_at' => time(),
			)
		);
		$response = $this->queue->deliver_now( $job, FollowUp_Payload::exit_event( $job['delivery_id'], $job['token'], $job['exited_at'] ) );
		wp_send_json_success( array( 'sent' => $response->ok() ) );
	}

	/**
	 * A cart job for the current session.
	 *
	 * @return array
	 */
	private function cart_job() {
		$token = FollowUp_Session::token( $this->tokens );
		return FollowUp_Queue::job(
			'cart.updated',
			array(
				'cart'    => FollowUp_Payload::cart( WC()->cart, $token, FollowUp_Session::recovery_url( $token ) ),
				'session' => FollowUp_Session::key(),
				'device'  => wp_is_mobile() ? 'mobile' : 'desktop',
			)
		);
	}

	/**
	 * Remember that the cart changed; the send happens once, at the end of the request.
	 */
	public function mark_dirty() {
		$this->dirty = true;
	}

	/**
	 * Cart changed and we know who the shopper is: send from the async queue, not this request.
	 */
	public function flush() {
		if ( ! $this->dirty || ! function_exists( 'WC' ) || ! WC()->cart || WC()->cart->is_empty() ) {
			return;
		}
		$this->dirty = false;
		$contact     = FollowUp_Session::contact();
		if ( empty( $contact['email'] ) && empty( $contact['phone'] ) ) {
			return;
		}
		WC()->cart->calculate_totals();
		$this->queue->later( $this->cart_job() );
	}

	/**
	 * Sanitize what the checkout script posted; anything malformed becomes empty.
	 *
	 * @param array $post         Unslashed request fields.
	 * @param bool  $consent_shown Whether the SMS consent checkbox is on the page.
	 * @return array
	 */
	public static function contact_from_request( array $post, $consent_shown ) {
		$field   = static function ( $key, $max = 100 ) use ( $post ) {
			return isset( $post[ $key ] ) && is_scalar( $post[ $key ] ) ? mb_substr( trim( sanitize_text_field( (string) $post[ $key ] ) ), 0, $max ) : '';
		};
		$email   = sanitize_email( $field( 'email', 254 ) );
		$phone   = $field( 'phone', 32 );
		$digits  = preg_replace( '/\D/', '', $phone );
		$country = strtoupper( $field( 'country', 3 ) );
		$contact = array(
			'email'      => is_email( $email ) ? strtolower( $email ) : '',
			'phone'      => ( preg_match( '/^\+?[0-9 ().\-]+$/', $phone ) && strlen( $digits ) >= 7 && strlen( $digits ) <= 15 ) ? $phone : '',
			'first_name' => $field( 'first_name' ),
			'last_name'  => $field( 'last_name' ),
			'country'    => preg_match( '/^[A-Z]{2}$/', $country ) ? $country : '',
			'state'      => preg_match( '/^[A-Za-z0-9-]{1,16}$/', $field( 'state', 16 ) ) ? strtoupper( $field( 'state', 16 ) ) : '',
			'timezone'   => preg_match( '#^[A-Za-z]+(?:/[A-Za-z0-9_+\-]+){0,2}$#', $field( 'timezone', 64 ) ) ? $field( 'timezone', 64 ) : '',
			'birthday'   => FollowUp_Birthday::clean( $field( 'birthday', 10 ) ),
		);
		if ( $consent_shown && isset( $post['sms_consent'] ) && in_array( $post['sms_consent'], array( '0', '1' ), true ) ) {
			$contact['sms_consent'] = '1' === $post['sms_consent'];
		}
		return $contact;
	}
}
