<?php
// phpcs:disable
require_once __DIR__ . '/FollowUpTestCase.php';

class PayloadTest extends FollowUpTestCase {

	public function test_cart_snapshot_has_items_totals_and_restore_link() {
		$cart = FollowUp_Payload::cart( followup_test_cart(), 'tok.en', 'https://shop.tidewaterteas.example/?followup_restore=tok.en' );
		$this->assertSame( 'tok.en', $cart['restore_token'] );
		$this->assertSame( '5f2c9a4be1d07c3e8a6b4d2f1e0c9b8a', $cart['cart_hash'] );
		$this->assertSame( array( 'USD', 'en_US' ), array( $cart['currency'], $cart['locale'] ) );
		$this->assertSame( array( '68.00', '6.80', '5.00', '5.30', '71.50' ), array( $cart['subtotal'], $cart['discount'], $cart['shipping'], $cart['tax'], $cart['total'] ) );
		$this->assertSame( array( 'WELCOME10' ), $cart['coupons'] );
		$this->assertCount( 2, $cart['items'] );
		$this->assertSame(
			array(
				'product_id'   => 101,
				'variation_id' => 0,
				'name'         => 'Sencha Kyoto Green Tea',
				'variant'      => '',
				'sku'          => 'TEA-SENCHA-100',
				'quantity'     => 2,
				'price'        => '14.50',
				'image_url'    => 'https://shop.tidewaterteas.example/wp-content/uploads/88-300x300.jpg',
				'product_url'  => 'https://shop.tidewaterteas.example/product/sencha/',
			),
			$cart['items'][0]
		);
		$this->assertSame( 'Matte black', $cart['items'][1]['variant'] );
		$this->assertSame( 206, $cart['items'][1]['variation_id'] );
		$this->assertSame( '', $cart['items'][1]['image_url'] );
	}

	public function test_cart_event_shape_and_consent() {
		$cart  = FollowUp_Payload::cart( followup_test_cart(), 't', 'u' );
		$event = FollowUp_Payload::cart_event( 'd-1', $cart, array( 'email' => 'ana@example.com', 'phone' => '+1 415 555 0100', 'sms_consent' => true ), 'desktop', 1767897667 );
		$this->assertSame( array( 'type', 'id', 'occurred_at', 'device', 'cart', 'customer' ), array_keys( $event ) );
		$this->assertSame( '2026-01-08T18:41:07Z', $event['occurred_at'] );
		$this->assertSame( 'ana@example.com', $event['customer']['email'] );
		$this->assertTrue( $event['customer']['sms_consent'] );
		$this->assertNull( $event['customer']['email_consent'] );
		$none = FollowUp_Payload::customer( array( 'email' => 'ana@example.com' ) );
		$this->assertNull( $none['sms_consent'] );
	}

	public function test_order_event_reports_token_hash_and_placed() {
		$order = new FollowUp_Test_Order_Builder();
		$event = FollowUp_Payload::order_event( $order->bank_transfer(), 'wc-order-9-placed', 'tok.en', 1767897667 );
		$this->assertSame( 'order.placed', $event['type'] );
		$this->assertSame( 'tok.en', $event['cart']['restore_token'] );
		$this->assertSame( 'cafe', $event['cart']['cart_hash'] );
		$this->assertSame( array( 'id' => '9', 'number' => '1009', 'status' => 'on-hold', 'placed' => true, 'total' => '71.50', 'currency' => 'EUR', 'created_at' => '2026-01-08T18:41:07Z', 'coupons' => array( 'welcome10' ), 'payment_method' => 'bacs' ), $event['order'] );
		$this->assertSame( 'ana@example.com', $event['customer']['email'] );
	}

	public function test_exit_event_names_the_checkout_by_its_restore_token() {
		$event = FollowUp_Payload::exit_event( 'd-2', 'tok.en', 1767897667 );
		$this->assertSame( array( 'type', 'id', 'occurred_at', 'device', 'cart' ), array_keys( $event ) );
		$this->assertSame( 'checkout.exited', $event['type'] );
		$this->assertSame( '2026-01-08T18:41:07Z', $event['occurred_at'] );
		$this->assertSame( array( 'restore_token' => 'tok.en' ), $event['cart'] );
	}

	public function test_placed_statuses() {
		$this->assertTrue( FollowUp_Payload::is_placed( 'processing', 'stripe' ) );
		$this->assertTrue( FollowUp_Payload::is_placed( 'on-hold', 'bacs' ) );
		$this->assertTrue( FollowUp_Payload::is_placed( 'pending', 'cod' ) );
		$this->assertTrue( FollowUp_Payload::is_placed( 'completed', '' ) );
		$this->assertFalse( FollowUp_Payload::is_placed( 'pending', 'stripe' ) );
		$this->assertFalse( FollowUp_Payload::is_placed( 'failed', 'cod' ) );
		$this->assertFalse( FollowUp_Payload::is_placed( 'checkout-draft', 'bacs' ) );
		$this->assertSame( 'placed', FollowUp_Orders::stage( 'on-hold', 'bacs' ) );
		$this->assertSame( 'created', FollowUp_Orders::stage( 'pending', 'stripe' ) );
		$this->assertNull( FollowUp_Orders::stage( 'checkout-draft', 'stripe' ) );
		$this->assertNull( FollowUp_Orders::stage( 'refunded', 'stripe' ) );
	}

	public function test_contact_from_request_sanitizes_everything() {
		$contact = FollowUp_Capture::contact_from_request(
			array(
				'email'       => ' Ana.Lima@Example.COM ',
				'phone'       => '+1 (415) 555-0100',
				'first_name'  => '<script>x</script>Ana',
				'country'     => 'us',
				'state'       => 'CA',
				'timezone'    => 'America/Los_Angeles',
				'sms_consent' => '1',
			),
			true
		);
		$this->assertSame( 'ana.lima@example.com', $contact['email'] );
		$this->assertSame( '+1 (415) 555-0100', $contact['phone'] );
		$this->assertSame( 'xAna', $contact['first_name'] );
		$this->assertSame( array( 'US', 'CA', 'America/Los_Angeles' ), array( $contact['country'], $contact['state'], $contact['timezone'] ) );
		$this->assertTrue( $contact['sms_consent'] );

		$bad = FollowUp_Capture::contact_from_request( array( 'email' => 'not-an-email', 'phone' => '12ab', 'timezone' => '../../etc', 'country' => 'USA', 'sms_consent' => '1' ), false );
		$this->assertSame( array( '', '', '', '' ), array( $bad['email'], $bad['phone'], $bad['timezone'], $bad['country'] ) );
		$this->assertArrayNotHasKey( 'sms_consent', $bad, 'consent is only read when the checkbox is shown' );
		$this->assertSame( '', FollowUp_Capture::contact_from_request( array( 'email' => array( 'x@y.z' ) ), false )['email'] );
	}
}

class FollowUp_Test_Order_Builder {
	public function bank_transfer() {
		return new FakeOrder(
			array(
				'id' => 9, 'number' => '1009', 'status' => 'on-hold', 'total' => '71.5', 'currency' => 'EUR', 'cart_hash' => 'cafe',
				'coupons' => array( 'welcome10' ), 'payment_method' => 'bacs', 'email' => 'ana@example.com', 'first_name' => 'Ana',
			)
		);
	}
}
