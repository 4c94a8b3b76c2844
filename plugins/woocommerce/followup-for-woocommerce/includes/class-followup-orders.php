<?php
/**
 * Reports created and placed orders to the app, with the restore token and cart hash to match them.
 *
 * @package FollowUp
 */

defined( 'ABSPATH' ) || exit;

/**
 * Order hooks.
 */
class FollowUp_Orders {

	const TOKEN_META    = '_followup_restore_token';
	const REPORTED_META = '_followup_reported';

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
	 * Constructor.
	 *
	 * @param FollowUp_Settings $settings Settings.
	 * @param FollowUp_Queue    $queue    Queue.
	 */
	public function __construct( FollowUp_Settings $settings, FollowUp_Queue $queue ) {
		$this->settings = $settings;
		$this->queue    = $queue;
	}

	/**
	 * Hooks for both checkouts and for status changes made later (gateways, admins).
	 */
	public function register() {
		if ( ! $this->settings->is_configured() ) {
			return;
		}
		add_action( 'woocommerce_checkout_create_order', array( $this, 'remember_token' ) );
		add_action( 'woocommerce_store_api_checkout_update_order_meta', array( $this, 'remember_token' ) );
		add_action( 'woocommerce_new_order', array( $this, 'on_change' ), 20, 2 );
		add_action( 'woocommerce_order_status_changed', array( $this, 'on_status' ), 20, 4 );
		add_action( 'woocommerce_payment_complete', array( $this, 'on_change' ), 20, 1 );
		add_action( 'woocommerce_thankyou', array( 'FollowUp_Session', 'forget_token' ) );
	}

	/**
	 * Copy the session's restore token onto the order before it is saved.
	 *
	 * @param object $order WC_Order.
	 */
	public function remember_token( $order ) {
		$token = function_exists( 'WC' ) && WC()->session ? WC()->session->get( FollowUp_Session::TOKEN ) : '';
		if ( is_string( $token ) && '' !== $token ) {
			$order->update_meta_data( self::TOKEN_META, $token );
		}
	}

	/**
	 * Status change callback.
	 *
	 * @param int    $order_id Order id.
	 * @param string $from     Old status.
	 * @param string $to       New status.
	 * @param object $order    WC_Order.
	 */
	public function on_status( $order_id, $from = '', $to = '', $order = null ) {
		$this->on_change( $order_id, $order );
	}

	/**
	 * Queue a report the first time an order reaches "created" and the first time it is placed.
	 *
	 * @param int         $order_id Order id.
	 * @param object|null $order    WC_Order when the hook passes it.
	 */
	public function on_change( $order_id, $order = null ) {
		$order = is_object( $order ) ? $order : wc_get_order( $order_id );
		if ( ! $order ) {
			return;
		}
		$stage = self::stage( (string) $order->get_status(), (string) $order->get_payment_method() );
		if ( null === $stage ) {
			return;
		}
		$reported = (array) $order->get_meta( self::REPORTED_META );
		if ( in_array( $stage, $reported, true ) ) {
			return;
		}
		$reported[] = $stage;
		$order->update_meta_data( self::REPORTED_META, $reported );
		$order->save_meta_data();
		$job                = FollowUp_Queue::job( 'order.placed', array( 'order_id' => (int) $order->get_id() ) );
		$job['delivery_id'] = 'wc-order-' . (int) $order->get_id() . '-' . $stage;
		$this->queue->later( $job );
	}

	/**
	 * Which report an order status calls for: drafts none, unpaid "created", committed "placed".
	 *
	 * @param string $status         Status without the wc- prefix.
	 * @param string $payment_method Gateway id.
	 * @return string|null
	 */
	public static function stage( $status, $payment_method ) {
		if ( in_array( $status, array( 'checkout-draft', 'auto-draft', 'trash' ), true ) ) {
			return null;
		}
		if ( FollowUp_Payload::is_placed( $status, $payment_method ) ) {
			return 'placed';
		}
		return in_array( $status, array( 'pending', 'failed' ), true ) ? 'created' : null;
	}
}
