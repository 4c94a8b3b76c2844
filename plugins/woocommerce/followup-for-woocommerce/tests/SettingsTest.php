<?php
// phpcs:disable
require_once __DIR__ . '/FollowUpTestCase.php';

class SettingsTest extends FollowUpTestCase {

	public function test_valid_input_is_kept_and_trimmed() {
		list( $clean, $errors ) = FollowUp_Settings::sanitize(
			array(
				'app_url'             => ' https://followup.example.com/ ',
				'store_id'            => '12',
				'webhook_secret'      => '  whsec_abcdefghijklmnopqrstuvwxyz  ',
				'sms_consent_enabled' => '1',
				'sms_consent_text'    => "Text me <b>reminders</b>\nplease",
			),
			array()
		);
		$this->assertSame( array(), $errors );
		$this->assertSame( 'https://followup.example.com', $clean['app_url'] );
		$this->assertSame( 12, $clean['store_id'] );
		$this->assertSame( 'whsec_abcdefghijklmnopqrstuvwxyz', $clean['webhook_secret'] );
		$this->assertSame( 'yes', $clean['sms_consent_enabled'] );
		$this->assertSame( 'Text me reminders please', $clean['sms_consent_text'] );
	}

	public function test_bad_values_are_refused_with_reasons_and_old_values_kept() {
		$current                = array( 'app_url' => 'https://old.example.com', 'store_id' => 3, 'webhook_secret' => 'whsec_kept_secret_value_123' );
		list( $clean, $errors ) = FollowUp_Settings::sanitize(
			array( 'app_url' => 'javascript:alert(1)', 'store_id' => '-4', 'webhook_secret' => 'short' ),
			$current
		);
		$this->assertCount( 3, $errors );
		$this->assertSame( 'https://old.example.com', $clean['app_url'] );
		$this->assertSame( 3, $clean['store_id'] );
		$this->assertSame( 'whsec_kept_secret_value_123', $clean['webhook_secret'] );
		$this->assertSame( 'no', $clean['sms_consent_enabled'] );
	}

	public function test_empty_secret_keeps_the_stored_one_and_clear_removes_it() {
		$settings = new FollowUp_Settings();
		$this->assertSame( array(), $settings->save( array( 'app_url' => 'https://app.example.com', 'store_id' => '7', 'webhook_secret' => '' ) ) );
		$this->assertSame( self::SECRET, $settings->secret() );
		$this->assertTrue( $settings->is_configured() );
		$settings->save( array( 'app_url' => 'https://app.example.com', 'store_id' => '7', 'webhook_secret_clear' => '1' ) );
		$this->assertFalse( $settings->has_secret() );
		$this->assertFalse( $settings->is_configured() );
	}

	public function test_empty_consent_text_falls_back_to_default_and_long_text_is_cut() {
		list( $clean ) = FollowUp_Settings::sanitize( array( 'sms_consent_text' => '' ), array() );
		$this->assertStringContainsString( 'STOP', $clean['sms_consent_text'] );
		list( $clean ) = FollowUp_Settings::sanitize( array( 'sms_consent_text' => str_repeat( 'é', 900 ) ), array() );
		$this->assertSame( FollowUp_Settings::MAX_CONSENT_TEXT, mb_strlen( $clean['sms_consent_text'] ) );
	}

	public function test_endpoints() {
		$settings = new FollowUp_Settings();
		$this->assertSame( 'https://app.example.com/webhooks/woocommerce/7', $settings->endpoint() );
		$this->assertSame( 'https://app.example.com/plugin/woocommerce/7/restore', $settings->endpoint( 'restore' ) );
	}

	public function test_the_publishable_key_for_the_chat_is_checked_and_its_init_is_inert() {
		list( $clean, $errors ) = FollowUp_Settings::sanitize( array( 'publishable_key' => ' fu_pk_abcdefgh1234 ' ), array() );
		$this->assertSame( array(), $errors );
		$this->assertSame( 'fu_pk_abcdefgh1234', $clean['publishable_key'] );
		list( $clean, $errors ) = FollowUp_Settings::sanitize( array( 'publishable_key' => 'fu_sk_secret_token_123' ), array( 'publishable_key' => 'fu_pk_kept12345' ) );
		$this->assertCount( 1, $errors );
		$this->assertSame( 'fu_pk_kept12345', $clean['publishable_key'] );
		$script = FollowUp_Chat::init_script( 'fu_pk_abcdefgh1234', 'https://app.example.com' );
		$this->assertStringContainsString( 'followup("init",{"key":"fu_pk_abcdefgh1234","endpoint":"https://app.example.com"});', $script );
		$this->assertStringContainsString( 'followup.q', $script );
	}
}
