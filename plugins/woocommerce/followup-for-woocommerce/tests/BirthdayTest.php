<?php
// phpcs:disable
require_once __DIR__ . '/FollowUpTestCase.php';

/**
 * Collects checkout errors as WooCommerce's WP_Error does (add()).
 */
class FollowUp_Test_Checkout_Errors {
	public $errors = array();
	public function add( $code, $message ) {
		$this->errors[] = array( $code, $message );
	}
}

class BirthdayTest extends FollowUpTestCase {

	protected function tearDown(): void {
		unset( $_POST[ FollowUp_Birthday::FIELD ] );
	}

	public function test_only_a_real_past_date_is_kept() {
		$this->assertSame( '1990-05-17', FollowUp_Birthday::clean( '1990-05-17', '2026-12-03' ) );
		$this->assertSame( '1988-02-29', FollowUp_Birthday::clean( ' 1988-02-29 ', '2026-12-03' ) );
		$this->assertSame( '2026-12-02', FollowUp_Birthday::clean( '2026-12-02', '2026-12-03' ) );
		foreach ( array( '1990-02-30', '1990-13-01', '2026-12-03', '2031-01-01', '1899-12-31', '17/05/1990', '1990-5-17', '', null, 19900517, array( '1990-05-17' ) ) as $bad ) {
			$this->assertSame( '', FollowUp_Birthday::clean( $bad, '2026-12-03' ), var_export( $bad, true ) );
		}
		$this->assertSame( '', FollowUp_Birthday::clean( gmdate( 'Y-m-d' ) ), 'today, on the real clock, is not a birthday yet' );
	}

	public function test_typed_birthday_wins_then_user_meta_in_key_order() {
		$GLOBALS['followup_test']['user_meta'][ 42 ] = array( 'billing_birth_date' => 'soon', 'birthday' => '1985-03-04', 'date_of_birth' => '1970-01-01' );
		$this->assertSame( '1999-09-09', FollowUp_Birthday::of_contact( array( 'birthday' => '1999-09-09', 'user_id' => 42 ) ) );
		$this->assertSame( '1985-03-04', FollowUp_Birthday::of_contact( array( 'birthday' => '', 'user_id' => 42 ) ) );
		$GLOBALS['followup_test']['user_meta'][ 43 ] = array( 'birth_date' => '1960-06-30' );
		$this->assertSame( '1960-06-30', FollowUp_Birthday::of_contact( array( 'user_id' => 43 ) ) );
		$this->assertSame( '', FollowUp_Birthday::of_contact( array( 'user_id' => 44 ) ) );
		$this->assertSame( '', FollowUp_Birthday::of_contact( array( 'email' => 'ana@example.com' ) ) );
	}

	public function test_the_filter_has_the_last_word_and_is_validated_too() {
		$GLOBALS['followup_test']['user_meta'][ 42 ] = array( 'birthday' => '1985-03-04' );
		$seen = array();
		add_filter(
			FollowUp_Birthday::FILTER,
			function ( $found, $user_id, $contact ) use ( &$seen ) {
				$seen[] = array( $found, $user_id, $contact['email'] );
				return 42 === $user_id ? '1977-07-07' : 'not a date';
			},
			10,
			3
		);
		$this->assertSame( '1977-07-07', FollowUp_Birthday::of_contact( array( 'email' => 'a@example.com', 'user_id' => 42 ) ) );
		$this->assertSame( '', FollowUp_Birthday::of_contact( array( 'email' => 'b@example.com', 'birthday' => '1990-01-01' ) ) );
		$this->assertSame( array( array( '1985-03-04', 42, 'a@example.com' ), array( '1990-01-01', 0, 'b@example.com' ) ), $seen );
	}

	public function test_payloads_carry_the_birthday_or_an_empty_string() {
		$this->assertSame( '', FollowUp_Payload::customer( array( 'email' => 'ana@example.com' ) )['birthday'] );
		$contact = FollowUp_Capture::contact_from_request( array( 'email' => 'ana@example.com', 'birthday' => '1990-05-17' ), false );
		$this->assertSame( '1990-05-17', $contact['birthday'] );
		$this->assertSame( '1990-05-17', FollowUp_Payload::customer( $contact )['birthday'] );
		$bad = FollowUp_Capture::contact_from_request( array( 'email' => 'ana@example.com', 'birthday' => '3000-01-01' ), false );
		$this->assertSame( '', $bad['birthday'] );
	}

	public function test_order_reports_read_the_checkout_field_then_the_customers_meta() {
		$classic = new FakeOrder( array( 'email' => 'ana@example.com', 'customer_id' => 42 ) );
		$classic->update_meta_data( FollowUp_Birthday::ORDER_META, '1990-05-17' );
		$this->assertSame( '1990-05-17', FollowUp_Payload::order_event( $classic, 'd', '', 1767897667 )['customer']['birthday'] );
		$block = new FakeOrder( array( 'email' => 'ana@example.com' ) );
		$block->update_meta_data( FollowUp_Birthday::BLOCK_META, '1991-06-18' );
		$this->assertSame( '1991-06-18', FollowUp_Payload::order_event( $block, 'd', '', 1767897667 )['customer']['birthday'] );
		$GLOBALS['followup_test']['user_meta'][ 42 ] = array( 'date_of_birth' => '1980-10-10' );
		$known = new FakeOrder( array( 'email' => 'ana@example.com', 'customer_id' => 42 ) );
		$this->assertSame( '1980-10-10', FollowUp_Payload::order_event( $known, 'd', '', 1767897667 )['customer']['birthday'] );
		$guest = new FakeOrder( array( 'email' => 'ana@example.com' ) );
		$this->assertSame( '', FollowUp_Payload::order_event( $guest, 'd', '', 1767897667 )['customer']['birthday'] );
	}

	public function test_the_checkout_field_is_off_until_the_merchant_turns_it_on() {
		$settings = new FollowUp_Settings();
		( new FollowUp_Birthday( $settings ) )->register();
		$this->assertNotContains( 'woocommerce_checkout_create_order', $GLOBALS['followup_test']['actions'] );

		$settings->save( array( 'app_url' => 'https://app.example.com', 'store_id' => '7', 'birthday_field' => 'yes' ) );
		$this->assertTrue( $settings->birthday_field_shown() );
		( new FollowUp_Birthday( $settings ) )->register();
		foreach ( array( 'woocommerce_after_checkout_billing_form', 'woocommerce_after_checkout_validation', 'woocommerce_checkout_create_order', 'woocommerce_init' ) as $hook ) {
			$this->assertContains( $hook, $GLOBALS['followup_test']['actions'] );
		}
		list( $clean ) = FollowUp_Settings::sanitize( array(), $settings->all() );
		$this->assertSame( 'no', $clean['birthday_field'], 'an unticked checkbox is not posted: off' );
	}

	public function test_classic_field_renders_validates_and_saves() {
		$field = new FollowUp_Birthday( new FollowUp_Settings() );
		ob_start();
		$field->render_classic();
		$html = ob_get_clean();
		$this->assertStringContainsString( 'Birthday (optional, for a treat on the day)', $html );
		$this->assertStringContainsString( 'type="date"', $html );
		$this->assertStringContainsString( 'name="followup_birthday"', $html );
		$this->assertStringContainsString( 'max="' . gmdate( 'Y-m-d', time() - DAY_IN_SECONDS ) . '"', $html );

		foreach ( array( '' => 0, '1990-05-17' => 0, '1990-02-30' => 1, '2999-01-01' => 1, 'May 17' => 1 ) as $typed => $count ) {
			$_POST[ FollowUp_Birthday::FIELD ] = (string) $typed;
			$errors                            = new FollowUp_Test_Checkout_Errors();
			$field->validate_classic( array(), $errors );
			$this->assertCount( $count, $errors->errors, (string) $typed );
		}

		$_POST[ FollowUp_Birthday::FIELD ] = '1990-05-17';
		$order                             = new FakeOrder( array() );
		$field->save_classic( $order );
		$this->assertSame( '1990-05-17', $order->get_meta( FollowUp_Birthday::ORDER_META ) );
		$_POST[ FollowUp_Birthday::FIELD ] = '1990-02-30';
		$other                             = new FakeOrder( array() );
		$field->save_classic( $other );
		$this->assertSame( '', $other->get_meta( FollowUp_Birthday::ORDER_META ) );
	}

	public function test_block_field_check() {
		$this->assertTrue( FollowUp_Birthday::validate_block( '' ) );
		$this->assertTrue( FollowUp_Birthday::validate_block( '1990-05-17' ) );
		$error = FollowUp_Birthday::validate_block( '17.05.1990' );
		$this->assertInstanceOf( WP_Error::class, $error );
		$this->assertSame( 'followup_birthday', $error->get_error_code() );
	}
}
