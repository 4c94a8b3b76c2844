<?php
/**
 * The shopper's birthday, for the app's contact.birthday flows: from the customer's user meta, or
 * from an optional checkout field the merchant can switch on.
 *
 * @package FollowUp
 */

defined( 'ABSPATH' ) || exit;

/**
 * Finds, validates and (optionally) asks for the shopper's birthday.
 */
class FollowUp_Birthday {

	const FIELD       = 'followup_birthday';
	const BLOCK_FIELD = 'followup/birthday';
	const ORDER_META  = '_followup_birthday';
	const BLOCK_META  = '_wc_other/followup/birthday';
	const FILTER      = 'followup_customer_birthday';

	/**
	 * User meta keys that birthday plugins and themes commonly use, tried in this order.
	 *
	 * @var string[]
	 */
	const USER_META_KEYS = array( 'billing_birth_date', 'birthday', 'date_of_birth', 'birth_date' );

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
	 * Hooks for the checkout field, only when the merchant chose to show it.
	 */
	public function register() {
		if ( ! $this->settings->birthday_field_shown() ) {
			return;
		}
		add_action( 'woocommerce_after_checkout_billing_form', array( $this, 'render_classic' ) );
		add_action( 'woocommerce_after_checkout_validation', array( $this, 'validate_classic' ), 10, 2 );
		add_action( 'woocommerce_checkout_create_order', array( $this, 'save_classic' ) );
		add_action( 'woocommerce_init', array( $this, 'register_block_field' ) );
	}

	/**
	 * The field's label, as the shopper reads it.
	 *
	 * @return string
	 */
	public static function label() {
		return __( 'Birthday (optional, for a treat on the day)', 'followup-for-woocommerce' );
	}

	/**
	 * A real date before today as YYYY-MM-DD, else '' (nothing, a typo, a future day, the 1800s).
	 *
	 * @param mixed       $value Anything a form, a meta row or a filter gave us.
	 * @param string|null $today Today as YYYY-MM-DD (UTC's day when null).
	 * @return string
	 */
	public static function clean( $value, $today = null ) {
		$today = null === $today ? gmdate( 'Y-m-d' ) : $today;
		if ( ! is_string( $value ) || ! preg_match( '/^(\d{4})-(\d{2})-(\d{2})$/', trim( $value ), $m ) ) {
			return '';
		}
		if ( ! checkdate( (int) $m[2], (int) $m[3], (int) $m[1] ) || (int) $m[1] < 1900 ) {
			return '';
		}
		$day = $m[1] . '-' . $m[2] . '-' . $m[3];
		return $day < $today ? $day : '';
	}

	/**
	 * The birthday for a payload's contact: the one the shopper typed, else the customer's user
	 * meta; the `followup_customer_birthday` filter has the last word (and is validated too).
	 *
	 * @param array $contact Contact fields; `birthday` and `user_id` are read when present.
	 * @return string YYYY-MM-DD or ''.
	 */
	public static function of_contact( array $contact ) {
		$user_id = isset( $contact['user_id'] ) ? absint( $contact['user_id'] ) : 0;
		$found   = self::clean( isset( $contact['birthday'] ) ? $contact['birthday'] : '' );
		if ( '' === $found && $user_id > 0 ) {
			$found = self::of_user( $user_id );
		}
		return self::clean( apply_filters( self::FILTER, $found, $user_id, $contact ) );
	}

	/**
	 * The first valid birthday among the user's meta keys.
	 *
	 * @param int $user_id WordPress user id.
	 * @return string
	 */
	public static function of_user( $user_id ) {
		foreach ( self::USER_META_KEYS as $key ) {
			$found = self::clean( get_user_meta( (int) $user_id, $key, true ) );
			if ( '' !== $found ) {
				return $found;
			}
		}
		return '';
	}

	/**
	 * What the order's checkout collected (classic or block field), else ''.
	 *
	 * @param object $order WC_Order.
	 * @return string
	 */
	public static function of_order( $order ) {
		$found = self::clean( $order->get_meta( self::ORDER_META ) );
		return '' !== $found ? $found : self::clean( $order->get_meta( self::BLOCK_META ) );
	}

	/**
	 * Classic checkout: a date input under the billing fields.
	 */
	public function render_classic() {
		printf(
			'<p class="form-row form-row-wide followup-birthday" id="%1$s_field"><label for="%1$s">%2$s</label><span class="woocommerce-input-wrapper"><input type="date" class="input-text" name="%1$s" id="%1$s" max="%3$s" autocomplete="bday" /></span></p>',
			esc_attr( self::FIELD ),
			esc_html( self::label() ),
			esc_attr( gmdate( 'Y-m-d', time() - DAY_IN_SECONDS ) )
		);
	}

	/**
	 * The typed value from the classic checkout's POST, unslashed ('' when absent).
	 *
	 * @return string
	 */
	private static function posted() {
		// phpcs:ignore WordPress.Security.NonceVerification.Missing -- WooCommerce verified the checkout nonce before these hooks.
		$raw = isset( $_POST[ self::FIELD ] ) && is_string( $_POST[ self::FIELD ] ) ? wp_unslash( $_POST[ self::FIELD ] ) : '';
		return trim( sanitize_text_field( $raw ) );
	}

	/**
	 * Refuse a birthday that is not a real past date, with a reason (empty is fine: optional).
	 *
	 * @param array  $data   Posted checkout data.
	 * @param object $errors WP_Error the checkout collects errors in.
	 */
	public function validate_classic( $data, $errors ) {
		$typed = self::posted();
		if ( '' !== $typed && '' === self::clean( $typed ) ) {
			$errors->add( 'validation', __( 'Please enter your birthday as a real date in the past, or leave it empty.', 'followup-for-woocommerce' ) );
		}
	}

	/**
	 * Keep a valid typed birthday on the order, where the order report reads it.
	 *
	 * @param object $order WC_Order being created.
	 */
	public function save_classic( $order ) {
		$found = self::clean( self::posted() );
		if ( '' !== $found ) {
			$order->update_meta_data( self::ORDER_META, $found );
		}
	}

	/**
	 * Block checkout: an optional text field (the API has no date type) with the same check.
	 */
	public function register_block_field() {
		if ( ! function_exists( 'woocommerce_register_additional_checkout_field' ) ) {
			return;
		}
		woocommerce_register_additional_checkout_field(
			array(
				'id'                => self::BLOCK_FIELD,
				'label'             => self::label(),
				'location'          => 'contact',
				'type'              => 'text',
				'required'          => false,
				'attributes'        => array(
					'autocomplete' => 'bday',
					'pattern'      => '[0-9]{4}-[0-9]{2}-[0-9]{2}',
					'title'        => 'YYYY-MM-DD',
				),
				'sanitize_callback' => static function ( $value ) {
					return trim( sanitize_text_field( (string) $value ) );
				},
				'validate_callback' => array( __CLASS__, 'validate_block' ),
			)
		);
	}

	/**
	 * The block field's check: WooCommerce shows the returned error next to the field.
	 *
	 * @param mixed $value Sanitized field value.
	 * @return true|WP_Error
	 */
	public static function validate_block( $value ) {
		if ( '' === (string) $value || '' !== self::clean( $value ) ) {
			return true;
		}
		return new WP_Error( 'followup_birthday', __( 'Please enter your birthday as YYYY-MM-DD, a real date in the past, or leave it empty.', 'followup-for-woocommerce' ) );
	}
}
