/* FollowUp settings tab: the "Test connection" button. Results are inserted as text, never HTML. */
( function () {
	'use strict';
	var button = document.getElementById( 'followup-test-connection' );
	var result = document.getElementById( 'followup-test-result' );
	if ( ! button || ! result || ! window.followupAdmin ) {
		return;
	}
	button.addEventListener( 'click', function () {
		var body = new URLSearchParams( { action: 'followup_test_connection', nonce: button.getAttribute( 'data-nonce' ) } );
		button.disabled = true;
		result.textContent = window.followupAdmin.testing;
		fetch( window.followupAdmin.ajaxUrl, { method: 'POST', credentials: 'same-origin', body: body } )
			.then( function ( response ) { return response.json(); } )
			.then( function ( json ) {
				result.textContent = ( json && json.data && json.data.message ) || String( json && json.success );
				result.style.color = json && json.success ? '#007017' : '#b32d2e';
			} )
			.catch( function ( error ) {
				result.textContent = String( error );
				result.style.color = '#b32d2e';
			} )
			.then( function () { button.disabled = false; } );
	} );
} )();
