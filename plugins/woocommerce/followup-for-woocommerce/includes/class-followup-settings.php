<?php
/**
 * The merchant's settings: one option, sanitized on the way in, the secret never sent back out.
 *
 * @package FollowUp
 */

defined( 'ABSPATH' ) || exit;

/**
 * Reads, validates and stores the plugin settings.
 */
class FollowUp_Settings {

	const OPTION = 'followup_settings';

	const MAX_CONSENT_TEXT = 500;

	/**
	 * Settings as stored; null until first read.
	 *
	 * @var array|null
	 */
	private $values = null;

	/**
	 * Defaults for a fresh install: capture stays off until app URL, store id and secret are set.
	 *
	 * @return array
	 */
	public static function defaults() {
		return array(
			'app_url'             => '',
			'store_id'            => 0,
			'webhook_secret'      => '',
			'publishable_key'     => '',
			'sms_consent_enabled' => 'no',
			'birthday_field'      => 'no',
			'sms_consent_text'    => __( 'Text me a reminder about my cart. Msg & data rates may apply. Reply STOP to opt out.', 'followup-for-woocommerce' ),
		);
	}

	/**
	 * All settings with defaults filled in.
	 *
	 * @return array
	 */
	public function all() {
		if ( null === $this->values ) {
			$stored       = get_option( self::OPTION, array() );
			$this->values = array_merge( self::defaults(), is_array( $stored ) ? $stored : array() );
		}
		return $this->values;
	}

	/**
	 * One setting.
	 *
	 * @param string $key Setting name.
	 * @return mixed
	 */
	public function get( $key ) {
		$all = $this->all();
		return isset( $all[ $key ] ) ? $all[ $key ] : null;
	}

	/**
	 * The shared secret; only the signer and the token class ever see it.
	 *
	 * @return string
	 */
	public function secret() {
		return (string) $this->get( 'webhook_secret' );
	}

	/**
	 * Whether a secret is stored, which is all the settings page ever reveals about it.
	 *
	 * @return bool
	 */
	public function has_secret() {
		return '' !== $this->secret();
	}

	/**
	 * Capture and restore only run when the app can be reached and requests can be signed.
	 *
	 * @return bool
	 */
	public function is_configured() {
		return '' !== $this->get( 'app_url' ) && (int) $this->get( 'store_id' ) > 0 && $this->has_secret();
	}

	/**
	 * Whether the SMS consent checkbox is shown at checkout.
	 *
	 * @return bool
	 */
	public function sms_consent_shown() {
		return 'yes' === $this->get( 'sms_consent_enabled' );
	}

	/**
	 * Whether the optional birthday field is shown at checkout.
	 *
	 * @return bool
	 */
	public function birthday_field_shown() {
		return 'yes' === $this->get( 'birthday_field' );
	}

	/**
	 * The endpoint our signed events go to.
	 *
	 * @param string $path Path after the store id, empty for the webhook endpoint.
	 * @return string
	 */
	public function endpoint( $path = '' ) {
		$base = '/webhooks/woocommerce/' . (int) $this->get( 'store_id' );
		if ( 'restore' === $path ) {
			$base = '/plugin/woocommerce/' . (int) $this->get( 'store_id' ) . '/restore';
		}
		return rtrim( (string) $this->get( 'app_url' ), '/' ) . $base;
	}

	/**
	 * Validate submitted values against the current ones; an empty secret keeps the stored secret.
	 *
	 * @param array $input   Raw submitted values (already unslashed).
	 * @param array $current Current settings.
	 * @return array{0: array, 1: string[]} Clean settings and human-readable errors.
	 */
	public static function sanitize( array $input, array $current ) {
		$clean  = array_merge( self::defaults(), $current );
		$errors = array();

		$url = isset( $input['app_url'] ) ? trim( (string) $input['app_url'] ) : '';
		if ( '' === $url ) {
			$clean['app_url'] = '';
		} else {
			$parsed = wp_parse_url( $url );
			$scheme = isset( $parsed['scheme'] ) ? strtolower( $parsed['scheme'] ) : '';
			if ( ! in_array( $scheme, array( 'http', 'https' ), true ) || empty( $parsed['host'] ) ) {
				$errors[] = __( 'The app URL must start with https:// (or http:// for a local test).', 'followup-for-woocommerce' );
			} else {
				$clean['app_url'] = rtrim( esc_url_raw( $url, array( 'http', 'https' ) ), '/' );
			}
		}

		$store_id = isset( $input['store_id'] ) ? trim( (string) $input['store_id'] ) : '';
		if ( '' === $store_id ) {
			$clean['store_id'] = 0;
		} elseif ( ! ctype_digit( $store_id ) || (int) $store_id < 1 ) {
			$errors[] = __( 'The store id is the number FollowUp showed when the store was created.', 'followup-for-woocommerce' );
		} else {
			$clean['store_id'] = (int) $store_id;
		}

		$secret = isset( $input['webhook_secret'] ) ? trim( sanitize_text_field( (string) $input['webhook_secret'] ) ) : '';
		if ( ! empty( $input['webhook_secret_clear'] ) ) {
			$clean['webhook_secret'] = '';
		} elseif ( '' !== $secret ) {
			if ( strlen( $secret ) < 16 || strlen( $secret ) > 256 ) {
				$errors[] = __( 'The webhook secret looks wrong: paste the whole value FollowUp printed.', 'followup-for-woocommerce' );
			} else {
				$clean['webhook_secret'] = $secret;
			}
		}

		$key = isset( $input['publishable_key'] ) ? trim( sanitize_text_field( (string) $input['publishable_key'] ) ) : '';
		if ( '' === $key ) {
			$clean['publishable_key'] = '';
		} elseif ( ! preg_match( '/^fu_pk_[A-Za-z0-9_-]{8,64}$/', $key ) ) {
			$errors[] = __( 'The publishable key starts with fu_pk_: copy it from your FollowUp dashboard (never the secret API token).', 'followup-for-woocommerce' );
		} else {
			$clean['publishable_key'] = $key;
		}

		$clean['sms_consent_enabled'] = ( isset( $input['sms_consent_enabled'] ) && in_array( $input['sms_consent_enabled'], array( 'yes', '1', 1, true ), true ) ) ? 'yes' : 'no';

		$clean['birthday_field'] = ( isset( $input['birthday_field'] ) && in_array( $input['birthday_field'], array( 'yes', '1', 1, true ), true ) ) ? 'yes' : 'no';

		$text = isset( $input['sms_consent_text'] ) ? sanitize_text_field( (string) $input['sms_consent_text'] ) : '';
		$clean['sms_consent_text'] = '' === $text ? self::defaults()['sms_consent_text'] : mb_substr( $text, 0, self::MAX_CONSENT_TEXT );

		return array( $clean, $errors );
	}

	/**
	 * Sanitize and store; returns the errors to show.
	 *
	 * @param array $input Raw submitted values (already unslashed).
	 * @return string[]
	 */
	public function save( array $input ) {
		list( $clean, $errors ) = self::sanitize( $input, $this->all() );
		update_option( self::OPTION, $clean, false );
		$this->values = $clean;
		return $errors;
	}
}
