<?php
/**
 * The store's live chat: loads the FollowUp snippet on the storefront when a publishable key is
 * set; the snippet shows the chat button when the store turned chat on in FollowUp, and opens it
 * on the shopper's conversation when they arrive from an email's chat link (?fu_chat=...).
 *
 * @package FollowUp
 */

defined( 'ABSPATH' ) || exit;

/**
 * Enqueues followup.js with its init call; nothing else (the chat is FollowUp's own file).
 */
class FollowUp_Chat {

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
	 * Hooks, only with an app URL and a publishable key.
	 */
	public function register() {
		if ( '' === (string) $this->settings->get( 'app_url' ) || '' === (string) $this->settings->get( 'publishable_key' ) ) {
			return;
		}
		add_action( 'wp_enqueue_scripts', array( $this, 'enqueue' ) );
	}

	/**
	 * The snippet on every storefront page, loaded async in the footer after its queued init.
	 */
	public function enqueue() {
		$app = rtrim( (string) $this->settings->get( 'app_url' ), '/' );
		wp_enqueue_script( 'followup-snippet', $app . '/static/followup.js', array(), FOLLOWUP_VERSION, true );
		wp_add_inline_script( 'followup-snippet', self::init_script( (string) $this->settings->get( 'publishable_key' ), $app ), 'before' );
	}

	/**
	 * The queue stub and init call (JSON-encoded values, so nothing typed in settings runs as code).
	 *
	 * @param string $key      Publishable key (fu_pk_...).
	 * @param string $endpoint FollowUp's URL.
	 * @return string
	 */
	public static function init_script( $key, $endpoint ) {
		$options = wp_json_encode(
			array(
				'key'      => $key,
				'endpoint' => $endpoint,
			)
		);
		return 'window.followup=window.followup||function(){(followup.q=followup.q||[]).push(arguments)};followup("init",' . $options . ');';
	}
}
