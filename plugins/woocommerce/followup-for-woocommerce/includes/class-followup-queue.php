<?php
/**
 * Deliveries that fail are retried from Action Scheduler with exponential backoff.
 *
 * WooCommerce's own webhooks never retry and block-checkout drafts send none, so this queue is
 * what makes capture reliable. Jobs carry no personal data: orders are re-read by id and the
 * contact is re-read from WooCommerce's session table.
 *
 * @package FollowUp
 */

defined( 'ABSPATH' ) || exit;

/**
 * Send now or later, and retry with backoff.
 */
class FollowUp_Queue {

	const HOOK         = 'followup_deliver';
	const GROUP        = 'followup';
	const MAX_ATTEMPTS = 8;
	const BASE_DELAY   = 60;
	const MAX_DELAY    = 21600;

	/**
	 * Client.
	 *
	 * @var FollowUp_Client
	 */
	private $client;

	/**
	 * Constructor.
	 *
	 * @param FollowUp_Client $client Client.
	 */
	public function __construct( FollowUp_Client $client ) {
		$this->client = $client;
	}

	/**
	 * Register the Action Scheduler callback.
	 */
	public function register() {
		add_action( self::HOOK, array( $this, 'handle' ), 10, 1 );
	}

	/**
	 * Seconds to wait before attempt number $attempt (1 = first retry): 1, 2, 4, 8 ... minutes, at most 6 hours.
	 *
	 * @param int $attempt Retry number, starting at 1.
	 * @return int
	 */
	public static function backoff( $attempt ) {
		$attempt = max( 1, (int) $attempt );
		return (int) min( self::MAX_DELAY, self::BASE_DELAY * ( 2 ** min( $attempt - 1, 16 ) ) );
	}

	/**
	 * A new job description; the delivery id is fixed here and reused by every retry.
	 *
	 * @param string $event cart.updated or order.placed.
	 * @param array  $data  cart/session/device for carts, order_id for orders.
	 * @return array
	 */
	public static function job( $event, array $data ) {
		return array_merge(
			array(
				'event'       => $event,
				'delivery_id' => wp_generate_uuid4(),
				'attempt'     => 0,
			),
			$data
		);
	}

	/**
	 * Send inside the current request (AJAX capture); failures go to the queue.
	 *
	 * @param array $job     Job.
	 * @param array $payload Document to send.
	 * @return FollowUp_Response
	 */
	public function deliver_now( array $job, array $payload ) {
		$response = $this->client->send( $job['event'], $payload, $job['delivery_id'] );
		$this->after( $job, $response );
		return $response;
	}

	/**
	 * Send from Action Scheduler's async runner, so the shopper's page request is never slowed.
	 *
	 * @param array $job Job.
	 */
	public function later( array $job ) {
		if ( function_exists( 'as_enqueue_async_action' ) ) {
			as_enqueue_async_action( self::HOOK, array( $job ), self::GROUP );
		}
	}

	/**
	 * Action Scheduler callback: rebuild the document and send it.
	 *
	 * @param array $job Job.
	 */
	public function handle( $job ) {
		if ( ! is_array( $job ) || empty( $job['event'] ) || empty( $job['delivery_id'] ) ) {
			return;
		}
		$payload = $this->payload( $job );
		if ( null === $payload ) {
			return;
		}
		$this->after( $job, $this->client->send( $job['event'], $payload, $job['delivery_id'] ) );
	}

	/**
	 * Schedule the next attempt, or give up on permanent errors and after MAX_ATTEMPTS.
	 *
	 * @param array             $job      Job.
	 * @param FollowUp_Response $response Outcome of this attempt.
	 * @return bool Whether a retry was scheduled.
	 */
	public function after( array $job, FollowUp_Response $response ) {
		if ( $response->ok() ) {
			return false;
		}
		$next = (int) $job['attempt'] + 1;
		if ( ! $response->retryable() || $next > self::MAX_ATTEMPTS || ! function_exists( 'as_schedule_single_action' ) ) {
			self::log( sprintf( 'delivery %s (%s) dropped after attempt %d: %s', $job['delivery_id'], $job['event'], $next, $response->message() ) );
			return false;
		}
		$job['attempt'] = $next;
		$delay          = self::backoff( $next );
		as_schedule_single_action( time() + $delay + wp_rand( 0, (int) ( $delay / 10 ) ), self::HOOK, array( $job ), self::GROUP );
		return true;
	}

	/**
	 * The document for a job, rebuilt from what WooCommerce keeps.
	 *
	 * @param array $job Job.
	 * @return array|null
	 */
	public function payload( array $job ) {
		if ( 'order.placed' === $job['event'] ) {
			$order = isset( $job['order_id'] ) ? wc_get_order( (int) $job['order_id'] ) : false;
			if ( ! $order ) {
				return null;
			}
			return FollowUp_Payload::order_event( $order, $job['delivery_id'], (string) $order->get_meta( FollowUp_Orders::TOKEN_META ), time() );
		}
		if ( 'checkout.exited' === $job['event'] ) {
			return FollowUp_Payload::exit_event( $job['delivery_id'], (string) $job['token'], (int) $job['exited_at'] );
		}
		$contact = FollowUp_Session::contact_for_key( isset( $job['session'] ) ? $job['session'] : '' );
		if ( empty( $contact['email'] ) && empty( $contact['phone'] ) ) {
			return null;
		}
		return FollowUp_Payload::cart_event( $job['delivery_id'], (array) $job['cart'], $contact, (string) $job['device'], time() );
	}

	/**
	 * Log without personal data: delivery ids and statuses only.
	 *
	 * @param string $message Message.
	 */
	private static function log( $message ) {
		if ( function_exists( 'wc_get_logger' ) ) {
			wc_get_logger()->warning( $message, array( 'source' => 'followup' ) );
		}
	}
}
