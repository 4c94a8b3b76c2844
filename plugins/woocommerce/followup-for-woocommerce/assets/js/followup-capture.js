/*
 * FollowUp cart capture for the classic checkout (#billing_email, #billing_phone) and the block
 * checkout (#email, #billing-phone). When the shopper types a valid email or phone we post it,
 * debounced, to admin-ajax; the server sends the cart snapshot to FollowUp. The request never
 * blocks the page (fetch keepalive, or sendBeacon), and is repeated when the cart or contact changes.
 */
( function () {
	'use strict';
	var config = window.followupCapture;
	if ( ! config || ! config.ajaxUrl ) {
		return;
	}
	var FIELDS = {
		email: '#billing_email, #email, #billing-email',
		phone: '#billing_phone, #billing-phone, #shipping-phone, #shipping_phone',
		first_name: '#billing_first_name, #billing-first_name, #shipping-first_name',
		last_name: '#billing_last_name, #billing-last_name, #shipping-last_name',
		country: 'select#billing_country',
		state: 'select#billing_state, input#billing_state',
		birthday: '#followup_birthday, input[id$="followup-birthday"]'
	};
	var CONSENT = '#followup_sms_consent, input[id$="followup-sms-consent"]';
	var EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]{2,}$/;
	var lastSent = '';
	var timer = null;

	function value( selector ) {
		var nodes = document.querySelectorAll( selector );
		for ( var i = 0; i < nodes.length; i++ ) {
			if ( nodes[ i ].value ) {
				return String( nodes[ i ].value ).trim();
			}
		}
		return '';
	}

	function collect() {
		var data = {};
		Object.keys( FIELDS ).forEach( function ( key ) {
			data[ key ] = value( FIELDS[ key ] );
		} );
		if ( ! EMAIL.test( data.email ) ) {
			data.email = '';
		}
		if ( data.phone.replace( /\D/g, '' ).length < 7 ) {
			data.phone = '';
		}
		var consent = document.querySelector( CONSENT );
		data.sms_consent = consent ? ( consent.checked ? '1' : '0' ) : '';
		try {
			data.timezone = Intl.DateTimeFormat().resolvedOptions().timeZone || '';
		} catch ( e ) {
			data.timezone = '';
		}
		return data;
	}

	function post( data ) {
		var body = new URLSearchParams( data );
		body.set( 'action', config.action );
		body.set( 'nonce', config.nonce );
		var hp = document.querySelector( 'input[name="followup_hp"]' );
		body.set( 'followup_hp', hp ? hp.value : '' );
		if ( window.fetch ) {
			window.fetch( config.ajaxUrl, { method: 'POST', body: body, credentials: 'same-origin', keepalive: true } )
				.catch( function () {} );
		} else if ( navigator.sendBeacon ) {
			navigator.sendBeacon( config.ajaxUrl, body );
		}
	}

	function send( force ) {
		var data = collect();
		if ( ! data.email && ! data.phone ) {
			return;
		}
		var signature = JSON.stringify( data );
		if ( ! force && signature === lastSent ) {
			return;
		}
		lastSent = signature;
		post( data );
	}

	function schedule( force ) {
		clearTimeout( timer );
		timer = setTimeout( function () { send( force ); }, config.debounce || 600 );
	}

	// Delegated listeners work for the classic form and for the React-rendered block checkout.
	var watched = [ FIELDS.email, FIELDS.phone, FIELDS.first_name, FIELDS.last_name, CONSENT ].join( ', ' );
	[ 'input', 'change', 'blur' ].forEach( function ( type ) {
		document.addEventListener( type, function ( event ) {
			if ( event.target && event.target.matches && event.target.matches( watched ) ) {
				schedule( false );
			}
		}, true );
	} );

	// Cart or shipping changed once we know the contact: send the new snapshot.
	if ( window.jQuery ) {
		window.jQuery( document.body ).on( 'updated_checkout', function () {
			if ( lastSent ) {
				schedule( true );
			}
		} );
	}
	if ( window.wp && window.wp.data && window.wp.data.subscribe ) {
		var lastCart = '';
		window.wp.data.subscribe( function () {
			var store = window.wp.data.select( 'wc/store/cart' );
			if ( ! store || ! store.getCartTotals ) {
				return;
			}
			var cart = JSON.stringify( store.getCartTotals() );
			if ( cart !== lastCart ) {
				var changed = lastCart !== '';
				lastCart = cart;
				if ( changed && lastSent ) {
					schedule( true );
				}
			}
		} );
	}

	// Leaving the checkout (closed, navigated away, tab hidden) once the contact is known: the store
	// may call the cart abandoned N minutes later. sendBeacon survives the page going away.
	var left = false;
	function exit() {
		if ( left || ! lastSent || ! config.exit ) {
			return;
		}
		left = true;
		var body = new URLSearchParams( { action: config.exit, nonce: config.nonce } );
		if ( navigator.sendBeacon ) {
			navigator.sendBeacon( config.ajaxUrl, body );
		} else if ( window.fetch ) {
			window.fetch( config.ajaxUrl, { method: 'POST', body: body, credentials: 'same-origin', keepalive: true } ).catch( function () {} );
		}
	}
	window.addEventListener( 'pagehide', exit );
	document.addEventListener( 'visibilitychange', function () {
		if ( document.visibilityState === 'hidden' ) {
			exit();
		} else {
			left = false;
		}
	} );

	// Browsers autofill without input events; look once the page has settled.
	window.addEventListener( 'load', function () { schedule( false ); } );
} )();
