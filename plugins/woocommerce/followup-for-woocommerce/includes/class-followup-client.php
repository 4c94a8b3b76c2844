<?php
/**
 * Talks to the FollowUp app: every request signed, short timeouts, a named result.
 *
 * @package FollowUp
 */

defined( 'ABSPATH' ) || exit;

/**
 * Thin HTTP client over wp_remote_post.
 */
class FollowUp_Client {

	const TIMEOUT = 5;

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
	 * Send one event to the webhook endpoint.
	 *
	 * @param string $event       Event name for X-FollowUp-Event.
	 * @param array  $payload     JSON document.
	 * @param string $delivery_id Stable delivery id (reused on retries).
	 * @return FollowUp_Response
	 */
	public function send( $event, array $payload, $delivery_id ) {
		return $this->post( $this->settings->endpoint(), $event, $payload, $delivery_id );
	}

	/**
	 * Ask the app for the cart and contact behind a restore token, so WordPress stores neither.
	 *
	 * @param string $token Verified restore token.
	 * @return FollowUp_Response
	 */
	public function lookup_restore( $token ) {
		$delivery = 'restore-' . substr( hash( 'sha256', $token . '|' . microtime( true ) ), 0, 32 );
		return $this->post( $this->settings->endpoint( 'restore' ), 'restore.lookup', array( 'token' => $token ), $delivery );
	}

	/**
	 * Sign and post.
	 *
	 * @param string $url         Target.
	 * @param string $event       Event name.
	 * @param array  $payload     Document.
	 * @param string $delivery_id Delivery id.
	 * @return FollowUp_Response
	 */
	private function post( $url, $event, array $payload, $delivery_id ) {
		if ( ! $this->settings->is_configured() ) {
			return new FollowUp_Response( 0, array(), __( 'FollowUp is not configured yet: set the app URL, store id and webhook secret.', 'followup-for-woocommerce' ) );
		}
		$body     = wp_json_encode( $payload );
		$signer   = new FollowUp_Signer( $this->settings->secret() );
		$response = wp_remote_post(
			$url,
			array(
				'timeout'     => self::TIMEOUT,
				'redirection' => 0,
				'headers'     => $signer->headers( $event, $body, $delivery_id, time() ),
				'body'        => $body,
				'data_format' => 'body',
				'user-agent'  => 'FollowUp-for-WooCommerce/' . ( defined( 'FOLLOWUP_VERSION' ) ? FOLLOWUP_VERSION : 'dev' ),
			)
		);
		if ( is_wp_error( $response ) ) {
			return new FollowUp_Response( 0, array(), $response->get_error_message() );
		}
		$data = json_decode( (string) wp_remote_retrieve_body( $response ), true );
		return new FollowUp_Response( (int) wp_remote_retrieve_response_code( $response ), is_array( $data ) ? $data : array() );
	}
}
