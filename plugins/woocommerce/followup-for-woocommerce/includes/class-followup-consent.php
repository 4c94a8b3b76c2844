<?php
/**
 * The optional SMS consent checkbox, on the classic and on the block checkout.
 *
 * @package FollowUp
 */

defined( 'ABSPATH' ) || exit;

/**
 * Renders the checkbox with the merchant's wording; capture reads its state.
 */
class FollowUp_Consent {

	const FIELD       = 'followup_sms_consent';
	const BLOCK_FIELD = 'followup/sms-consent';

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
	 * Hooks, only when the merchant chose to show the checkbox.
	 */
	public function register() {
		if ( ! $this->settings->sms_consent_shown() ) {
			return;
		}
		add_action( 'woocommerce_after_checkout_billing_form', array( $this, 'render_classic' ) );
		add_action( 'woocommerce_init', array( $this, 'register_block_field' ) );
	}

	/**
	 * Classic checkout: an unticked checkbox under the billing fields (consent is never preselected).
	 */
	public function render_classic() {
		printf(
			'<p class="form-row form-row-wide followup-sms-consent"><label class="woocommerce-form__label woocommerce-form__label-for-checkbox checkbox"><input type="checkbox" class="woocommerce-form__input woocommerce-form__input-checkbox input-checkbox" name="%1$s" id="%1$s" value="1" /> <span>%2$s</span></label></p>',
			esc_attr( self::FIELD ),
			esc_html( $this->settings->get( 'sms_consent_text' ) )
		);
	}

	/**
	 * Block checkout: an additional contact field (WooCommerce 8.9+ API).
	 */
	public function register_block_field() {
		if ( ! function_exists( 'woocommerce_register_additional_checkout_field' ) ) {
			return;
		}
		woocommerce_register_additional_checkout_field(
			array(
				'id'       => self::BLOCK_FIELD,
				'label'    => sanitize_text_field( $this->settings->get( 'sms_consent_text' ) ),
				'location' => 'contact',
				'type'     => 'checkbox',
			)
		);
	}
}
