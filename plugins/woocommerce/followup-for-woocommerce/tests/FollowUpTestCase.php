<?php
/**
 * Base test case: fresh shim state and a configured store for every test.
 *
 * @package FollowUp
 */

// phpcs:disable

use PHPUnit\Framework\TestCase;

abstract class FollowUpTestCase extends TestCase {

	const SECRET = 'whsec_test_secret_for_the_plugin_tests';

	protected function setUp(): void {
		followup_test_reset();
		update_option(
			FollowUp_Settings::OPTION,
			array(
				'app_url'        => 'https://app.example.com',
				'store_id'       => 7,
				'webhook_secret' => self::SECRET,
			)
		);
	}

	protected function respond( $status, array $body = array() ) {
		$GLOBALS['followup_test']['responses'][] = array( 'response' => array( 'code' => $status ), 'body' => json_encode( $body ) );
	}
}
