<?php
// phpcs:disable
require_once __DIR__ . '/FollowUpTestCase.php';

class QueueTest extends FollowUpTestCase {

	public function test_backoff_doubles_and_is_capped() {
		$this->assertSame( array( 60, 120, 240, 480, 960, 1920, 3840, 7680 ), array_map( array( 'FollowUp_Queue', 'backoff' ), range( 1, 8 ) ) );
		$this->assertSame( 15360, FollowUp_Queue::backoff( 9 ) );
		$this->assertSame( FollowUp_Queue::MAX_DELAY, FollowUp_Queue::backoff( 10 ) );
		$this->assertSame( FollowUp_Queue::MAX_DELAY, FollowUp_Queue::backoff( 500 ) );
		$this->assertSame( 60, FollowUp_Queue::backoff( 0 ) );
	}

	private function queue() {
		return new FollowUp_Queue( new FollowUp_Client( new FollowUp_Settings() ) );
	}

	private function cart_job() {
		$cart = FollowUp_Payload::cart( followup_test_cart(), 't', 'u' );
		return FollowUp_Queue::job( 'cart.updated', array( 'cart' => $cart, 'session' => 't_0123456789abcdef', 'device' => 'mobile' ) );
	}

	public function test_server_error_schedules_retry_with_same_delivery_id_and_no_personal_data() {
		$this->respond( 503, array( 'error' => 'unavailable' ) );
		$job = $this->cart_job();
		$this->queue()->deliver_now( $job, array( 'customer' => array( 'email' => 'ana@example.com' ) ) );
		$scheduled = $GLOBALS['followup_test']['scheduled'];
		$this->assertCount( 1, $scheduled );
		$retry = $scheduled[0]['args'][0];
		$this->assertSame( $job['delivery_id'], $retry['delivery_id'] );
		$this->assertSame( 1, $retry['attempt'] );
		$this->assertSame( FollowUp_Queue::HOOK, $scheduled[0]['hook'] );
		$this->assertEqualsWithDelta( time() + 60, $scheduled[0]['timestamp'], 2 );
		$this->assertStringNotContainsString( 'ana@example.com', json_encode( $scheduled ) );
	}

	public function test_network_error_and_429_retry_but_4xx_and_exhaustion_do_not() {
		$queue = $this->queue();
		$job   = $this->cart_job();
		$this->assertTrue( $queue->after( $job, new FollowUp_Response( 0, array(), 'cURL error 28: timed out' ) ) );
		$this->assertTrue( $queue->after( $job, new FollowUp_Response( 429 ) ) );
		$this->assertFalse( $queue->after( $job, new FollowUp_Response( 401, array( 'detail' => 'signature does not match' ) ) ) );
		$this->assertFalse( $queue->after( $job, new FollowUp_Response( 200 ) ) );
		$job['attempt'] = FollowUp_Queue::MAX_ATTEMPTS;
		$this->assertFalse( $queue->after( $job, new FollowUp_Response( 500 ) ) );
		$this->assertCount( 2, $GLOBALS['followup_test']['scheduled'] );
		$this->assertCount( 2, $GLOBALS['followup_test']['logs'] );
		$this->assertStringContainsString( 'signature does not match', $GLOBALS['followup_test']['logs'][0] );
	}

	public function test_retry_rebuilds_order_payload_from_the_order() {
		$order                                       = new FakeOrder( array( 'id' => 31, 'status' => 'processing', 'total' => '20', 'cart_hash' => 'abc', 'email' => 'ana@example.com' ) );
		$order->meta[ FollowUp_Orders::TOKEN_META ]  = 'tok.en';
		$GLOBALS['followup_test']['orders'][]        = $order;
		$job                                         = FollowUp_Queue::job( 'order.placed', array( 'order_id' => 31 ) );
		$job['attempt']                              = 2;
		$this->respond( 500 );
		$this->queue()->handle( $job );
		$sent = json_decode( $GLOBALS['followup_test']['http'][0]['args']['body'], true );
		$this->assertSame( 'tok.en', $sent['cart']['restore_token'] );
		$this->assertSame( '31', $sent['order']['id'] );
		$this->assertSame( 3, $GLOBALS['followup_test']['scheduled'][0]['args'][0]['attempt'] );
		$this->assertEqualsWithDelta( time() + 240, $GLOBALS['followup_test']['scheduled'][0]['timestamp'], 2 );
	}

	public function test_cart_change_goes_to_the_async_queue() {
		$this->queue()->later( $this->cart_job() );
		$this->assertCount( 1, $GLOBALS['followup_test']['async'] );
		$this->assertSame( array(), $GLOBALS['followup_test']['http'] );
	}
}
