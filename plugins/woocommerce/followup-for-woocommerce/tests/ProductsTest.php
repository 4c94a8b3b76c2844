<?php
// phpcs:disable
require_once __DIR__ . '/FollowUpTestCase.php';

class ProductsTest extends FollowUpTestCase {

	private $products;

	protected function setUp(): void {
		parent::setUp();
		$this->products = new FollowUp_Products( new FollowUp_Signed_Routes( new FollowUp_Settings() ) );
		$GLOBALS['followup_test']['products'] = array(
			41 => new FakeProduct( array( 'name' => 'Sencha tin', 'price' => '12.5', 'regular_price' => '15', 'stock_quantity' => 7 ) ),
			42 => new FakeProduct( array( 'name' => 'Clay teapot', 'price' => '48', 'in_stock' => false, 'stock_quantity' => 0 ) ),
		);
	}

	private function request( array $body, $secret = self::SECRET, $timestamp = null ) {
		$raw       = json_encode( $body );
		$timestamp = null === $timestamp ? time() : $timestamp;
		$request   = new WP_REST_Request( 'POST', '/followup/v1/products' );
		$request->set_header( 'X-FollowUp-Timestamp', (string) $timestamp );
		$request->set_header( 'X-FollowUp-Signature', ( new FollowUp_Signer( $secret ) )->sign( $timestamp, $raw ) );
		$request->set_body( $raw );
		return $request;
	}

	private function call( WP_REST_Request $request ) {
		$this->products->register_routes();
		$route   = $GLOBALS['followup_test']['routes']['/followup/v1/products'];
		$allowed = call_user_func( $route['permission_callback'], $request );
		if ( true !== $allowed ) {
			return $allowed;
		}
		return call_user_func( $route['callback'], $request );
	}

	public function test_route_is_registered_with_the_signature_as_permission() {
		$this->products->register();
		$this->assertContains( 'rest_api_init', $GLOBALS['followup_test']['actions'] );
		$this->products->register_routes();
		$route = $GLOBALS['followup_test']['routes']['/followup/v1/products'];
		$this->assertSame( 'POST', $route['methods'] );
		$this->assertSame( 'verify', $route['permission_callback'][1] );
	}

	public function test_signed_lookup_answers_current_price_stock_and_gone_products() {
		$response = $this->call( $this->request( array( 'type' => 'products.lookup', 'ids' => array( '41', '42', '99' ) ) ) );
		$this->assertInstanceOf( WP_REST_Response::class, $response );
		$this->assertSame( 200, $response->get_status() );
		$data     = $response->get_data();
		$products = (array) $data['products'];
		$this->assertSame( 'USD', $data['currency'] );
		$this->assertSame( '12.50', $products['41']['price'] );
		$this->assertSame( '15.00', $products['41']['regular_price'] );
		$this->assertTrue( $products['41']['in_stock'] );
		$this->assertSame( 7, $products['41']['stock_quantity'] );
		$this->assertFalse( $products['42']['in_stock'] );
		$this->assertNull( $products['99'] );
	}

	public function test_a_wrong_signature_is_refused_before_any_lookup() {
		$result = $this->call( $this->request( array( 'type' => 'products.lookup', 'ids' => array( '41' ) ), 'another-secret' ) );
		$this->assertInstanceOf( WP_Error::class, $result );
		$this->assertSame( 401, $result->get_error_data()['status'] );
	}

	public function test_a_stale_timestamp_is_refused() {
		$result = $this->call( $this->request( array( 'type' => 'products.lookup', 'ids' => array( '41' ) ), self::SECRET, time() - 3600 ) );
		$this->assertInstanceOf( WP_Error::class, $result );
		$this->assertSame( 'followup_stale_request', $result->get_error_code() );
	}

	public function test_bad_bodies_are_refused_with_the_reason() {
		foreach ( array(
			array( 'type' => 'coupon.create', 'ids' => array( '41' ) ),
			array( 'type' => 'products.lookup', 'ids' => array() ),
			array( 'type' => 'products.lookup', 'ids' => array( '41; DROP' ) ),
			array( 'type' => 'products.lookup', 'ids' => array_map( 'strval', range( 1, 101 ) ) ),
		) as $body ) {
			$result = $this->call( $this->request( $body ) );
			$this->assertInstanceOf( WP_Error::class, $result );
			$this->assertSame( 400, $result->get_error_data()['status'] );
		}
	}
}
