<?php
/**
 * The "FollowUp" tab in WooCommerce → Settings, and its "Test connection" button.
 *
 * @package FollowUp
 */

defined( 'ABSPATH' ) || exit;

/**
 * Settings tab, save handler and connection test.
 */
class FollowUp_Admin {

	const TAB        = 'followup';
	const CAPABILITY = 'manage_woocommerce';
	const TEST_NONCE = 'followup_test_connection';

	/**
	 * Settings.
	 *
	 * @var FollowUp_Settings
	 */
	private $settings;

	/**
	 * Client.
	 *
	 * @var FollowUp_Client
	 */
	private $client;

	/**
	 * Constructor.
	 *
	 * @param FollowUp_Settings $settings Settings.
	 * @param FollowUp_Client   $client   Client.
	 */
	public function __construct( FollowUp_Settings $settings, FollowUp_Client $client ) {
		$this->settings = $settings;
		$this->client   = $client;
	}

	/**
	 * Hooks.
	 */
	public function register() {
		add_filter( 'woocommerce_settings_tabs_array', array( $this, 'add_tab' ), 50 );
		add_action( 'woocommerce_settings_tabs_' . self::TAB, array( $this, 'render' ) );
		add_action( 'woocommerce_update_options_' . self::TAB, array( $this, 'save' ) );
		add_action( 'woocommerce_admin_field_followup_secret', array( $this, 'render_secret' ) );
		add_action( 'woocommerce_admin_field_followup_test', array( $this, 'render_test' ) );
		add_action( 'wp_ajax_followup_test_connection', array( $this, 'test_connection' ) );
		add_action( 'admin_enqueue_scripts', array( $this, 'enqueue' ) );
		add_filter( 'plugin_action_links_' . plugin_basename( FOLLOWUP_PLUGIN_FILE ), array( $this, 'action_links' ) );
	}

	/**
	 * Add our tab.
	 *
	 * @param array $tabs Tabs.
	 * @return array
	 */
	public function add_tab( $tabs ) {
		$tabs[ self::TAB ] = __( 'FollowUp', 'followup-for-woocommerce' );
		return $tabs;
	}

	/**
	 * A "Settings" link on the Plugins screen.
	 *
	 * @param array $links Links.
	 * @return array
	 */
	public function action_links( $links ) {
		$url = admin_url( 'admin.php?page=wc-settings&tab=' . self::TAB );
		array_unshift( $links, sprintf( '<a href="%s">%s</a>', esc_url( $url ), esc_html__( 'Settings', 'followup-for-woocommerce' ) ) );
		return $links;
	}

	/**
	 * Field definitions for woocommerce_admin_fields(); values are read from our single option.
	 *
	 * @return array
	 */
	public function fields() {
		$name = FollowUp_Settings::OPTION;
		return array(
			array(
				'type'  => 'title',
				'id'    => 'followup_section',
				'title' => __( 'FollowUp', 'followup-for-woocommerce' ),
				'desc'  => __( 'Connect this store to your FollowUp app. Create the store there with "followup store create --platform woocommerce" and paste what it prints.', 'followup-for-woocommerce' ),
			),
			array(
				'type'        => 'url',
				'id'          => $name . '[app_url]',
				'title'       => __( 'App URL', 'followup-for-woocommerce' ),
				'placeholder' => 'https://followup.example.com',
				'desc_tip'    => __( 'The public address of your FollowUp app.', 'followup-for-woocommerce' ),
			),
			array(
				'type'              => 'number',
				'id'                => $name . '[store_id]',
				'title'             => __( 'Store id', 'followup-for-woocommerce' ),
				'custom_attributes' => array( 'min' => 1 ),
			),
			array(
				'type'  => 'followup_secret',
				'id'    => $name . '[webhook_secret]',
				'title' => __( 'Webhook secret', 'followup-for-woocommerce' ),
			),
			array(
				'type'        => 'text',
				'id'          => $name . '[publishable_key]',
				'title'       => __( 'Publishable key (live chat)', 'followup-for-woocommerce' ),
				'placeholder' => 'fu_pk_...',
				'desc_tip'    => __( 'Loads the FollowUp snippet on your store so the live chat (turned on in FollowUp) and chat links from emails work. Leave empty for no chat.', 'followup-for-woocommerce' ),
			),
			array(
				'type'  => 'checkbox',
				'id'    => $name . '[sms_consent_enabled]',
				'title' => __( 'SMS consent', 'followup-for-woocommerce' ),
				'desc'  => __( 'Show an SMS consent checkbox at checkout (never ticked in advance).', 'followup-for-woocommerce' ),
			),
			array(
				'type'  => 'textarea',
				'id'    => $name . '[sms_consent_text]',
				'title' => __( 'SMS consent text', 'followup-for-woocommerce' ),
				'css'   => 'min-width: 400px; min-height: 60px;',
			),
			array(
				'type'  => 'checkbox',
				'id'    => $name . '[birthday_field]',
				'title' => __( 'Birthday field', 'followup-for-woocommerce' ),
				'desc'  => __( 'Ask for the shopper\'s birthday at checkout, optionally, for your birthday flows. Without it, FollowUp reads the customer\'s user meta (billing_birth_date, birthday, date_of_birth, birth_date).', 'followup-for-woocommerce' ),
			),
			array(
				'type'  => 'followup_test',
				'id'    => 'followup_test',
				'title' => __( 'Connection', 'followup-for-woocommerce' ),
			),
			array(
				'type' => 'sectionend',
				'id'   => 'followup_section',
			),
		);
	}

	/**
	 * Render the tab.
	 */
	public function render() {
		woocommerce_admin_fields( $this->fields() );
	}

	/**
	 * Save: WooCommerce has checked its settings nonce; we check it again with the capability.
	 */
	public function save() {
		if ( ! current_user_can( self::CAPABILITY ) ) {
			return;
		}
		check_admin_referer( 'woocommerce-settings' );
		$input = isset( $_POST[ FollowUp_Settings::OPTION ] ) && is_array( $_POST[ FollowUp_Settings::OPTION ] ) ? wp_unslash( $_POST[ FollowUp_Settings::OPTION ] ) : array(); // phpcs:ignore WordPress.Security.ValidatedSanitizedInput.InputNotSanitized -- FollowUp_Settings::sanitize() validates every key.
		foreach ( $this->settings->save( $input ) as $error ) {
			WC_Admin_Settings::add_error( $error );
		}
	}

	/**
	 * The secret field: shows only whether a secret is set, never the value.
	 *
	 * @param array $field Field.
	 */
	public function render_secret( $field ) {
		$set = $this->settings->has_secret();
		?>
		<tr valign="top">
			<th scope="row" class="titledesc"><label for="followup_webhook_secret"><?php echo esc_html( $field['title'] ); ?></label></th>
			<td class="forminp">
				<input type="password" id="followup_webhook_secret" name="<?php echo esc_attr( $field['id'] ); ?>" value="" autocomplete="new-password" class="regular-text" placeholder="<?php echo esc_attr( $set ? __( 'Set — leave empty to keep it', 'followup-for-woocommerce' ) : __( 'Not set', 'followup-for-woocommerce' ) ); ?>" />
				<p class="description">
					<strong><?php echo esc_html( $set ? __( 'Status: set', 'followup-for-woocommerce' ) : __( 'Status: not set', 'followup-for-woocommerce' ) ); ?></strong>
					<?php if ( $set ) : ?>
						<label><input type="checkbox" name="<?php echo esc_attr( FollowUp_Settings::OPTION . '[webhook_secret_clear]' ); ?>" value="1" /> <?php esc_html_e( 'Remove the stored secret', 'followup-for-woocommerce' ); ?></label>
					<?php endif; ?>
				</p>
			</td>
		</tr>
		<?php
	}

	/**
	 * The test button; its script posts to the AJAX action below and shows the answer as text.
	 *
	 * @param array $field Field.
	 */
	public function render_test( $field ) {
		?>
		<tr valign="top">
			<th scope="row" class="titledesc"><?php echo esc_html( $field['title'] ); ?></th>
			<td class="forminp">
				<button type="button" class="button" id="followup-test-connection" data-nonce="<?php echo esc_attr( wp_create_nonce( self::TEST_NONCE ) ); ?>"><?php esc_html_e( 'Test connection', 'followup-for-woocommerce' ); ?></button>
				<span id="followup-test-result" role="status" aria-live="polite"></span>
				<p class="description"><?php esc_html_e( 'Save your settings first; the test sends a signed request to the app and stores nothing.', 'followup-for-woocommerce' ); ?></p>
			</td>
		</tr>
		<?php
	}

	/**
	 * Load the button script on our tab only.
	 *
	 * @param string $hook Admin page hook.
	 */
	public function enqueue( $hook ) {
		// phpcs:ignore WordPress.Security.NonceVerification.Recommended -- reading the current tab only.
		if ( 'woocommerce_page_wc-settings' !== $hook || ! isset( $_GET['tab'] ) || self::TAB !== sanitize_key( wp_unslash( $_GET['tab'] ) ) ) {
			return;
		}
		wp_enqueue_script( 'followup-admin', plugins_url( 'assets/js/followup-admin.js', FOLLOWUP_PLUGIN_FILE ), array(), FOLLOWUP_VERSION, true );
		wp_localize_script(
			'followup-admin',
			'followupAdmin',
			array(
				'ajaxUrl' => admin_url( 'admin-ajax.php' ),
				'testing' => __( 'Testing…', 'followup-for-woocommerce' ),
			)
		);
	}

	/**
	 * AJAX: call the app with connection.test and report what it said.
	 */
	public function test_connection() {
		check_ajax_referer( self::TEST_NONCE, 'nonce' );
		if ( ! current_user_can( self::CAPABILITY ) ) {
			wp_send_json_error( array( 'message' => __( 'You are not allowed to do this.', 'followup-for-woocommerce' ) ), 403 );
		}
		$delivery = wp_generate_uuid4();
		$response = $this->client->send(
			'connection.test',
			array(
				'type'        => 'connection.test',
				'id'          => $delivery,
				'occurred_at' => gmdate( 'Y-m-d\TH:i:s\Z' ),
				'site'        => home_url( '/' ),
			),
			$delivery
		);
		if ( $response->ok() ) {
			$store = isset( $response->data['store'] ) ? sanitize_text_field( (string) $response->data['store'] ) : '';
			/* translators: %s: store name in FollowUp */
			wp_send_json_success( array( 'message' => sprintf( __( 'Connected to FollowUp store "%s".', 'followup-for-woocommerce' ), $store ) ) );
		}
		/* translators: %s: the app's explanation or the network error */
		wp_send_json_error( array( 'message' => sprintf( __( 'Connection failed: %s', 'followup-for-woocommerce' ), sanitize_text_field( $response->message() ) ) ) );
	}
}
