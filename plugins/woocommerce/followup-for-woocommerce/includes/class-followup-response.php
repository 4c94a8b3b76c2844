<?php
/**
 * The named result of one call to the app, so callers decide to retry without parsing HTTP.
 *
 * @package FollowUp
 */

defined( 'ABSPATH' ) || exit;

/**
 * Outcome of a request to the FollowUp app.
 */
class FollowUp_Response {

	/**
	 * HTTP status, 0 when the request never got an answer.
	 *
	 * @var int
	 */
	public $status;

	/**
	 * Decoded JSON body (empty array when none).
	 *
	 * @var array
	 */
	public $data;

	/**
	 * Transport error message, empty when the app answered.
	 *
	 * @var string
	 */
	public $error;

	/**
	 * Constructor.
	 *
	 * @param int    $status HTTP status.
	 * @param array  $data   Decoded body.
	 * @param string $error  Transport error.
	 */
	public function __construct( $status, array $data = array(), $error = '' ) {
		$this->status = (int) $status;
		$this->data   = $data;
		$this->error  = (string) $error;
	}

	/**
	 * The app accepted it (or already had it).
	 *
	 * @return bool
	 */
	public function ok() {
		return $this->status >= 200 && $this->status < 300;
	}

	/**
	 * Network failures, timeouts, rate limits and server errors may succeed later; 4xx will not.
	 *
	 * @return bool
	 */
	public function retryable() {
		return 0 === $this->status || 408 === $this->status || 429 === $this->status || $this->status >= 500;
	}

	/**
	 * A short explanation for the merchant (test connection) and the log.
	 *
	 * @return string
	 */
	public function message() {
		if ( '' !== $this->error ) {
			return $this->error;
		}
		if ( isset( $this->data['detail'] ) ) {
			return (string) $this->data['detail'];
		}
		return sprintf( 'HTTP %d', $this->status );
	}
}
