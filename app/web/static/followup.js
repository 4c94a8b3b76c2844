/*! FollowUp capture snippet: Segment-spec checkout events for any site. No dependencies.
 *  Install: <script src="https://APP/static/followup.js" data-key="fu_pk_..." async></script>
 *  or, to queue calls before it loads: <script>window.followup=window.followup||function(){(followup.q=followup.q||[]).push(arguments)};
 *  followup('init',{key:'fu_pk_...'})</script><script async src="https://APP/static/followup.js"></script>
 */
(function (w, d) {
  'use strict';
  var VERSION = '1.0.0';
  var EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]{2,}$/;
  var KEY = /^fu_pk_[A-Za-z0-9_-]{8,}$/;
  var script = d.currentScript;
  var state = { key: null, endpoint: script ? new URL(script.src).origin : '', consent: true, held: [], traits: {}, checkout: null, started: {}, coupon: null };
  var memory = {};
  var warned = {};

  // Say once, in words, why nothing is being captured: a silent snippet is the worst failure.
  function warn(topic, text) {
    if (warned[topic] || !w.console) return;
    warned[topic] = true;
    w.console.warn('FollowUp: ' + text);
  }

  function keyProblem(key) {
    if (!key) return 'no publishable key. Add data-key="fu_pk_..." (from your FollowUp dashboard) to the <script> tag that loads followup.js, or call followup(\'init\', {key: \'fu_pk_...\'}). Nothing is captured until then.';
    if (/^fu_sk_/.test(key)) return 'the key "' + key.slice(0, 8) + '..." is the store\'s secret API token: never put it in a web page. Rotate it, and use the publishable key (it starts with fu_pk_) instead. Nothing is captured.';
    if (!KEY.test(key)) return 'the key "' + key + '" is not a publishable key: copy the one that starts with fu_pk_ from your FollowUp dashboard. Nothing is captured.';
    return null;
  }

  function store(name, value) {
    try {
      if (value === undefined) return w.localStorage.getItem(name);
      w.localStorage.setItem(name, value);
    } catch (e) {
      if (value === undefined) return memory[name] || null;
      memory[name] = value;
    }
    return value;
  }

  function uuid() {
    if (w.crypto && w.crypto.randomUUID) return w.crypto.randomUUID();
    return 'xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx'.replace(/[xy]/g, function (c) {
      var r = (Math.random() * 16) | 0;
      return (c === 'x' ? r : (r & 3) | 8).toString(16);
    });
  }

  function anonymousId() {
    return store('followup_aid') || store('followup_aid', uuid());
  }

  function context() {
    var tz = '';
    try { tz = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { /* old browser */ }
    return {
      traits: state.traits,
      locale: navigator.language,
      timezone: tz,
      userAgent: navigator.userAgent,
      page: { url: location.href, referrer: d.referrer },
      library: { name: 'followup.js', version: VERSION }
    };
  }

  function envelope(type, fields) {
    var event = { type: type, anonymousId: anonymousId(), messageId: uuid(), timestamp: new Date().toISOString(), context: context() };
    for (var k in fields) event[k] = fields[k];
    return event;
  }

  function refused(r) {
    r.json().then(function (body) {
      var why = (body && (body.detail || body.message)) || ('HTTP ' + r.status);
      if (r.status === 404) why = 'no store has the publishable key "' + state.key + '": copy it again from your FollowUp dashboard';
      if (r.status === 403) why = 'this site (' + location.origin + ') is not one of the store\'s sites: add it to the store\'s domain or allowed origins in FollowUp';
      warn('refused' + r.status, 'events were refused: ' + why + '.');
    }, function () { warn('refused' + r.status, 'events were refused (HTTP ' + r.status + ').'); });
  }

  // text/plain keeps this a "simple" CORS request: no preflight, and it survives page unloads.
  function post(body, retried) {
    var url = state.endpoint + '/collect/v1/events?key=' + encodeURIComponent(state.key);
    if (!w.fetch) {
      if (navigator.sendBeacon) navigator.sendBeacon(url, new Blob([body], { type: 'text/plain' }));
      return;
    }
    w.fetch(url, { method: 'POST', body: body, keepalive: body.length < 60000, mode: 'cors', credentials: 'omit', headers: { 'Content-Type': 'text/plain' } })
      .then(function (r) {
        if ((r.status >= 500 || r.status === 429) && !retried) throw r;
        if (r.status >= 400 && r.status < 500 && r.status !== 429) refused(r);
      })
      .catch(function (e) {
        if (!retried) setTimeout(function () { post(body, true); }, 1500);
        else if (!(e && e.status)) warn('network', 'could not reach ' + state.endpoint + ' to send events. Check the address in the <script> tag and that this site is one of the store\'s sites.');
      });
  }

  function send(events) {
    if (!events.length) return;
    if (keyProblem(state.key) && state.key) return;
    if (!state.key || !state.consent) {
      if (state.consent !== false) state.held = state.held.concat(events);
      return;
    }
    post(JSON.stringify(events.length === 1 ? events[0] : { batch: events }));
  }

  function num(value) {
    return value == null || value === '' ? undefined : String(value);
  }

  function products(items) {
    return (items || []).map(function (i) {
      return { product_id: i.product_id || i.id, sku: i.sku, name: i.name || i.title, variant: i.variant, price: num(i.price), quantity: i.quantity || 1, url: i.url, image_url: i.image_url || i.image };
    });
  }

  function checkoutEvent(c) {
    var first = !state.started[c.id];
    state.started[c.id] = true;
    return envelope('track', {
      event: first ? 'Checkout Started' : 'Checkout Updated',
      properties: {
        checkout_id: String(c.id), cart_id: c.cart_id, currency: c.currency, total: num(c.total), subtotal: num(c.subtotal),
        tax: num(c.tax), shipping: num(c.shipping), discount: num(c.discount), coupon: c.coupon || state.coupon || undefined, recovery_url: c.recovery_url,
        products: products(c.items)
      }
    });
  }

  function identify(traits) {
    var changed = false;
    for (var k in traits) {
      if (traits[k] && JSON.stringify(state.traits[k]) !== JSON.stringify(traits[k])) { state.traits[k] = traits[k]; changed = true; }
    }
    if (!changed) return;
    var events = [envelope('identify', { traits: state.traits })];
    // Send the current cart again with the contact, so it is reachable whatever arrives first.
    if (state.checkout) events.push(checkoutEvent(state.checkout));
    send(events);
  }

  // SMS consent travels as the trait consent: {sms: true}; the server records who, when and where.
  function smsConsent(granted) {
    identify({ consent: { sms: !!granted } });
  }

  // A magic link lands with ?discount=CODE: ask FollowUp what the code is worth, so the page can show it.
  function discount(code, done) {
    if (typeof code === 'function') { done = code; code = null; }
    code = code || new URLSearchParams(location.search).get('discount');
    done = done || function () {};
    if (!code || !state.key || !w.fetch) return done(null);
    var url = state.endpoint + '/collect/v1/discounts/' + encodeURIComponent(code) + '?key=' + encodeURIComponent(state.key);
    w.fetch(url, { mode: 'cors', credentials: 'omit' })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (found) {
        if (found && found.valid) state.coupon = found.code;  // later checkout and order events carry it
        done(found);
      }, function () { done(null); });
  }

  // Live chat, when the store turns it on: its own file, loaded only then (chat.js).
  function chat() {
    if (!w.fetch || state.chat) return;
    state.chat = {};
    w.fetch(state.endpoint + '/chat/v1/config?key=' + encodeURIComponent(state.key), { mode: 'cors', credentials: 'omit' })
      .then(function (r) { return r.ok ? r.json() : {}; })
      .then(function (c) {
        if (!c.enabled) return;
        state.chat = c;
        var s = d.createElement('script');
        s.async = true; s.src = state.endpoint + '/static/chat.js';
        d.head.appendChild(s);
      }, function () {});
  }

  var commands = {
    init: function (o) {
      o = o || {};
      state.key = o.key;
      var problem = keyProblem(o.key);
      if (problem) { warn('key', problem); if (o.key) return; }
      if (o.endpoint) state.endpoint = String(o.endpoint).replace(/\/+$/, '');
      if (o.requireConsent) state.consent = null;
      send(state.held.splice(0));
      chat();
    },
    // chat.js asks for what it needs; nothing else of the snippet's state leaves it.
    chatContext: function (done) {
      done({ key: state.key, endpoint: state.endpoint, config: state.chat, anonymousId: anonymousId(), traits: state.traits,
        checkout: function () { return state.checkout ? String(state.checkout.id) : null; } });
    },
    consent: function (granted) {
      state.consent = !!granted;
      if (granted) send(state.held.splice(0)); else state.held = [];
    },
    identify: identify,
    smsConsent: smsConsent,
    discount: discount,
    checkout: function (c) {
      if (!c || c.id == null) return;
      state.checkout = c;
      send([checkoutEvent(c)]);
    },
    order: function (o) {
      if (!o || o.id == null) return;
      send([envelope('track', {
        event: 'Order Completed',
        properties: {
          order_id: String(o.id), checkout_id: o.checkout_id != null ? String(o.checkout_id) : state.checkout && String(state.checkout.id),
          total: num(o.total), currency: o.currency, coupon: o.coupon || state.coupon || undefined, products: products(o.items)
        }
      })]);
    }
  };

  function followup(name) {
    var fn = commands[name];
    if (fn) fn.apply(null, Array.prototype.slice.call(arguments, 1));
  }

  // Fields marked data-followup="email|phone|first_name|last_name" are read as the shopper types;
  // a checkbox marked data-followup="sms_consent" sends consent: {sms: true} when ticked.
  var timer;
  function capture() {
    var traits = {};
    var fields = d.querySelectorAll('[data-followup]');
    for (var i = 0; i < fields.length; i++) {
      var name = fields[i].getAttribute('data-followup');
      if (name === 'sms_consent') {
        if (fields[i].checked) traits.consent = { sms: true };
        continue;
      }
      var value = (fields[i].value || '').trim();
      if (name === 'email' && !EMAIL.test(value)) continue;
      if (name === 'phone' && value.replace(/\D/g, '').length < 7) continue;
      if (value) traits[name] = value;
    }
    if (traits.email || traits.phone) identify(traits);
  }
  function onInput(e) {
    if (e.target && e.target.getAttribute && e.target.getAttribute('data-followup')) {
      clearTimeout(timer);
      timer = setTimeout(capture, 500);
    }
  }
  d.addEventListener('input', onInput, true);
  d.addEventListener('change', onInput, true);

  // Leaving the checkout page (closed, navigated away, tab hidden) is reported once per leave, so a
  // store may call the cart abandoned N minutes after the shopper left instead of waiting for idle time.
  var left = false;
  function exit() {
    if (left || !state.checkout) return;
    left = true;
    send([envelope('track', { event: 'Checkout Exited', properties: { checkout_id: String(state.checkout.id) } })]);
  }
  w.addEventListener('pagehide', exit);
  d.addEventListener('visibilitychange', function () { if (d.visibilityState === 'hidden') exit(); else left = false; });

  var queued = (w.followup && w.followup.q) || [];
  w.followup = followup;
  for (var q = 0; q < queued.length; q++) followup.apply(null, queued[q]);
  // The install tag alone: <script src=".../followup.js" data-key="fu_pk_..." async></script>
  var tagged = script && script.getAttribute('data-key');
  if (state.key == null && tagged != null) {
    commands.init({ key: tagged, endpoint: script.getAttribute('data-endpoint'), requireConsent: script.getAttribute('data-require-consent') === 'true' });
  }
  setTimeout(function () { if (state.key == null) warn('key', keyProblem(null)); }, 0);
})(window, document);
