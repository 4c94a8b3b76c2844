/*! FollowUp live chat: loaded by followup.js only when the store turns chat on. No dependencies.
 *  Talks to the app with a signed visitor token (kept in this site's localStorage), never cookies.
 *  Every text from the shopper or an agent is shown with textContent: never as markup.
 */
(function (w, d) {
  'use strict';
  if (!w.followup || w.followupChat) return;
  var TOKEN = 'followup_chat_token';
  var ui = {}, ctx = null, ws = null, token = null, seen = {}, pending = {}, retry = 0, pinger = null, config = {};

  function el(tag, cls, text) {
    var e = d.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  }
  function saved(value) {
    try { if (value === undefined) return w.localStorage.getItem(TOKEN); w.localStorage.setItem(TOKEN, value); } catch (e) { /* private mode */ }
    return value;
  }
  function clientId() {
    return (w.crypto && w.crypto.randomUUID ? w.crypto.randomUUID() : String(Math.random()).slice(2) + Date.now()).replace(/[^A-Za-z0-9]/g, '');
  }
  function linkToken() {
    try { return new URLSearchParams(location.search).get('fu_chat'); } catch (e) { return null; }
  }

  var CSS = ':host{all:initial;font:14px/1.4 system-ui,sans-serif;color:#1d2327}' +
    '.launcher{position:fixed;right:16px;bottom:16px;z-index:2147483000;border:0;border-radius:24px;padding:12px 18px;background:#2c5f4a;color:#fff;font:inherit;font-weight:600;cursor:pointer;box-shadow:0 2px 10px rgba(0,0,0,.25)}' +
    '.panel{position:fixed;right:16px;bottom:72px;z-index:2147483000;width:340px;max-width:calc(100vw - 32px);height:460px;max-height:calc(100vh - 96px);display:flex;flex-direction:column;background:#fff;border-radius:12px;box-shadow:0 4px 24px rgba(0,0,0,.25);overflow:hidden}' +
    '.panel[hidden],.away[hidden],.who[hidden]{display:none}' +
    '.head{display:flex;justify-content:space-between;align-items:center;padding:10px 14px;background:#2c5f4a;color:#fff;font-weight:600}' +
    '.head button{background:none;border:0;color:#fff;font-size:20px;cursor:pointer}' +
    '.away,.who{padding:8px 14px;background:#fff7e0;font-size:13px}.who{background:#f3f5f4}' +
    '.away form,.who form{display:flex;flex-wrap:wrap;gap:6px;margin-top:6px}' +
    'input,textarea{font:inherit;border:1px solid #b5bcc2;border-radius:6px;padding:6px;min-width:0;flex:1}' +
    'button.act{font:inherit;border:0;border-radius:6px;padding:6px 10px;background:#2c5f4a;color:#fff;cursor:pointer}' +
    'ol{list-style:none;margin:0;padding:10px 14px;flex:1;overflow-y:auto}' +
    'li{margin:6px 0;padding:8px 10px;border-radius:10px;max-width:80%;white-space:pre-wrap;word-wrap:break-word}' +
    'li.you{margin-left:auto;background:#2c5f4a;color:#fff}li.agent{background:#eef1f0}li.note{max-width:none;background:none;color:#555;font-size:12px;text-align:center}' +
    '.send{display:flex;gap:6px;padding:8px;border-top:1px solid #e3e6e8}.send textarea{resize:none;height:40px}' +
    '.err{color:#b32d2e;font-size:12px;padding:0 14px}' +
    '.invite{position:fixed;right:16px;bottom:72px;z-index:2147483000;width:300px;max-width:calc(100vw - 32px);padding:14px;background:#fff;border-radius:12px;box-shadow:0 4px 24px rgba(0,0,0,.25)}' +
    '.invite[hidden]{display:none}.invite p{margin:0 0 10px}.invite .row{display:flex;gap:8px;justify-content:flex-end}' +
    'button.quiet{font:inherit;border:1px solid #b5bcc2;border-radius:6px;padding:6px 10px;background:#fff;cursor:pointer}';

  function build() {
    var host = el('div');
    host.id = 'followup-chat';
    var root = host.attachShadow ? host.attachShadow({ mode: 'open' }) : host;
    var style = el('style'); style.textContent = CSS; root.appendChild(style);
    ui.launcher = el('button', 'launcher', 'Chat with us');
    ui.launcher.type = 'button';
    ui.panel = el('div', 'panel'); ui.panel.hidden = true;
    ui.panel.setAttribute('role', 'dialog'); ui.panel.setAttribute('aria-label', 'Chat');
    var head = el('div', 'head'); head.appendChild(el('span', '', config.store_name || 'Chat'));
    var close = el('button', '', '\u00d7'); close.type = 'button'; close.setAttribute('aria-label', 'Close chat');
    head.appendChild(close);
    ui.away = el('div', 'away'); ui.away.hidden = true;
    ui.awayText = el('div'); ui.away.appendChild(ui.awayText);
    ui.away.appendChild(contactForm('away'));
    ui.who = el('div', 'who'); ui.who.hidden = true;
    ui.who.appendChild(el('div', '', 'Leave your email or phone so we can answer if you leave:'));
    ui.who.appendChild(contactForm('who'));
    ui.list = el('ol'); ui.list.setAttribute('aria-live', 'polite');
    ui.err = el('div', 'err'); ui.err.setAttribute('role', 'alert');
    var form = el('form', 'send');
    ui.input = el('textarea'); ui.input.maxLength = 1000; ui.input.placeholder = 'Type a message'; ui.input.setAttribute('aria-label', 'Message');
    var send = el('button', 'act', 'Send'); send.type = 'submit';
    form.appendChild(ui.input); form.appendChild(send);
    [head, ui.away, ui.who, ui.list, ui.err, form].forEach(function (n) { ui.panel.appendChild(n); });
    ui.invite = el('div', 'invite'); ui.invite.hidden = true;
    ui.invite.setAttribute('role', 'dialog'); ui.invite.setAttribute('aria-label', 'Chat invitation');
    ui.inviteText = el('p'); ui.invite.appendChild(ui.inviteText);
    var row = el('div', 'row'), no = el('button', 'quiet', 'No thanks'), yes = el('button', 'act', 'Chat now');
    no.type = yes.type = 'button';
    row.appendChild(no); row.appendChild(yes); ui.invite.appendChild(row);
    no.addEventListener('click', function () { ui.invite.hidden = true; });
    yes.addEventListener('click', function () { ui.invite.hidden = true; counted(ui.inviteKind, true); open(); });
    root.appendChild(ui.invite); root.appendChild(ui.panel); root.appendChild(ui.launcher);
    d.body.appendChild(host);
    ui.launcher.addEventListener('click', function () { ui.panel.hidden ? open() : hide(); });
    close.addEventListener('click', hide);
    form.addEventListener('submit', function (e) { e.preventDefault(); say(); });
    ui.input.addEventListener('keydown', function (e) { if (e.key === 'Enter' && !e.shiftKey) { e.preventDefault(); say(); } });
  }

  function contactForm(where) {
    var f = el('form');
    var input = el('input'); input.name = 'contact'; input.placeholder = 'Email or phone'; input.setAttribute('aria-label', 'Email or phone');
    f.appendChild(input);
    var by = where === 'away' ? [['email', 'Continue by email'], ['sms', 'Continue by SMS']] : [['', 'Save']];
    by.forEach(function (b) {
      var btn = el('button', 'act', b[1]); btn.type = 'submit'; btn.value = b[0];
      btn.addEventListener('click', function () { f.dataset.by = b[0]; });
      f.appendChild(btn);
    });
    f.addEventListener('submit', function (e) {
      e.preventDefault();
      var v = input.value.trim(), frame = { type: 'identify' };
      if (v.indexOf('@') > 0) frame.email = v; else frame.phone = v;
      // "Continue by" follows what was typed: an email is answered by email, a number by SMS.
      frame.continue_by = f.dataset.by ? (frame.email ? 'email' : 'sms') : null;
      if (v && out(frame)) input.value = '';
    });
    return f;
  }

  function show(m) {
    if (m.id && seen[m.id]) return;
    if (m.id) seen[m.id] = true;
    var li = el('li', m.author === 'you' ? 'you' : m.author === 'note' ? 'note' : 'agent', m.body);
    ui.list.appendChild(li);
    ui.list.scrollTop = ui.list.scrollHeight;
    if (m.author === 'agent' && m.id && ui.panel.hidden) ui.launcher.textContent = 'New message';
  }

  function hours(c) {
    config.open = c.open; config.back_at = c.back_at;
    ui.away.hidden = !!c.open;
    if (c.open) return;
    var when = c.back_at ? new Date(c.back_at).toLocaleString([], { weekday: 'long', hour: '2-digit', minute: '2-digit' }) : null;
    ui.awayText.textContent = 'We\u2019re away right now' + (when ? '; agents are back ' + when + '.' : '.') + ' Leave your email or phone and we\u2019ll continue there:';
  }

  // Frames typed before the socket is open (or while it reconnects) wait and go out on open.
  var waiting = [];
  function out(frame) {
    if (!ws || ws.readyState !== 1) {
      if (frame.type !== 'ping') waiting.push(frame);
      return true;
    }
    ws.send(JSON.stringify(frame));
    return true;
  }

  function say() {
    var text = ui.input.value.trim();
    if (!text) return;
    var id = clientId();
    pending[id] = text;
    if (out({ type: 'message', body: text, client_id: id })) { ui.input.value = ''; ui.err.textContent = ''; }
  }

  function receive(frame) {
    if (frame.type === 'hello') {
      hours(frame);
      if (!frame.messages.length) show({ author: 'agent', body: frame.greeting });
      frame.messages.forEach(show);
      ui.who.hidden = !!(ctx.traits && (ctx.traits.email || ctx.traits.phone));
    } else if (frame.type === 'message') {
      show(frame);
    } else if (frame.type === 'sent') {
      delete pending[frame.client_id];
      show(frame);
    } else if (frame.type === 'identified') {
      ui.who.hidden = true; ui.away.hidden = true;
      show({ author: 'note', body: frame.continue_by === 'sms' ? 'Thanks! We\u2019ll text you.' : frame.continue_by === 'email' ? 'Thanks! We\u2019ll email you.' : 'Thanks! We\u2019ll answer here, or there if you leave.' });
    } else if (frame.type === 'error') {
      ui.err.textContent = frame.detail;
      if (frame.client_id && pending[frame.client_id]) { ui.input.value = pending[frame.client_id]; delete pending[frame.client_id]; }
    }
  }

  function connect() {
    var url = ctx.endpoint.replace(/^http/, 'ws') + '/chat/v1/ws?token=' + encodeURIComponent(token);
    ws = new WebSocket(url);
    ws.onopen = function () {
      retry = 0; ui.err.textContent = '';
      waiting.splice(0).forEach(function (f) { ws.send(JSON.stringify(f)); });
      clearInterval(pinger);
      pinger = setInterval(function () { out({ type: 'ping' }); }, 20000);
    };
    ws.onmessage = function (e) { try { receive(JSON.parse(e.data)); } catch (err) { /* not ours */ } };
    ws.onclose = function (e) {
      clearInterval(pinger); ws = null;
      if (e.code === 4401) { saved(''); token = null; return session(); }
      if (e.code >= 4400 && e.code < 4500 && e.code !== 4429) { ui.err.textContent = 'Chat is not available on this page.'; return; }
      retry = Math.min(retry + 1, 6);
      setTimeout(connect, 500 * Math.pow(2, retry));
    };
  }

  function session() {
    var body = JSON.stringify({ token: saved() || null, link: linkToken(), anonymous_id: ctx.anonymousId });
    w.fetch(ctx.endpoint + '/chat/v1/session?key=' + encodeURIComponent(ctx.key), { method: 'POST', body: body, mode: 'cors', credentials: 'omit', headers: { 'Content-Type': 'text/plain' } })
      .then(function (r) { return r.json().then(function (b) { if (!r.ok) throw b; return b; }); })
      .then(function (b) { token = saved(b.token); hours(b); connect(); },
        function (b) { ui.err.textContent = (b && b.detail) || 'Chat is not available right now.'; });
  }

  function open() {
    ui.panel.hidden = false;
    ui.launcher.textContent = 'Close chat';
    if (!token && !ws) session();
    ui.input.focus();
  }
  function hide() { ui.panel.hidden = true; ui.launcher.textContent = 'Chat with us'; }

  // Save before they leave: invite once per tab session when the shopper is about to go (the
  // pointer leaves the top of the window on desktop; on touch devices, coming back to a hidden
  // tab, or pressing back once). Shown only on pages with a checkout unless the store says so.
  var INVITED = 'followup_invited', SESSION = 'followup_session';
  function sess(name, value) {
    try { if (value === undefined) return w.sessionStorage.getItem(name); w.sessionStorage.setItem(name, value); } catch (e) { /* private mode */ }
    return value;
  }
  function counted(kind, accepted) {
    var body = JSON.stringify({ session: sess(SESSION) || sess(SESSION, clientId().slice(0, 32)), trigger: kind, checkout_id: ctx.checkout && ctx.checkout(), accepted: !!accepted });
    w.fetch(ctx.endpoint + '/chat/v1/invitations?key=' + encodeURIComponent(ctx.key), { method: 'POST', body: body, mode: 'cors', credentials: 'omit', keepalive: true, headers: { 'Content-Type': 'text/plain' } }).catch(function () {});
  }
  function invite(kind) {
    var inv = config.invite;
    if (!inv || sess(INVITED) || !ui.panel.hidden) return false;
    if (!inv.everywhere && !(ctx.checkout && ctx.checkout())) return false;
    sess(INVITED, kind);
    ui.inviteKind = kind;
    ui.inviteText.textContent = inv.text;
    ui.invite.hidden = false;
    counted(kind, false);
    return true;
  }
  function exitIntent() {
    if (!config.invite || sess(INVITED)) return;
    d.addEventListener('mouseout', function (e) { if (!e.relatedTarget && e.clientY <= 0) invite('pointer_left'); });
    if (!('ontouchstart' in w) && !(navigator.maxTouchPoints > 0)) return;
    var hidden = false;
    d.addEventListener('visibilitychange', function () {
      if (d.visibilityState === 'hidden') hidden = true;
      else if (hidden) { hidden = false; invite('tab_hidden'); }
    });
    try {
      history.pushState({ followupInvite: 1 }, '');
      w.addEventListener('popstate', function back() {
        w.removeEventListener('popstate', back);
        if (!invite('back')) history.back();  // nothing to say: let the shopper go
      });
    } catch (e) { /* no history API */ }
  }

  // ...or once the shopper's email or phone is known and they have done nothing (no typing,
  // pointer or scroll) for the store's idle time; the same once-per-session invitation.
  function idleInvite() {
    var inv = config.invite, wait = inv && inv.idle_seconds, timer;
    if (!wait || sess(INVITED)) return;
    function known() { var t = ctx.traits || {}; return !!(t.email || t.phone); }
    function restart() {
      clearTimeout(timer);
      if (sess(INVITED)) return;
      timer = setTimeout(function () { if (!known() || !invite('idle')) restart(); }, wait * 1000);
    }
    ['input', 'keydown', 'pointermove', 'scroll', 'touchstart'].forEach(function (name) {
      d.addEventListener(name, restart, { capture: true, passive: true });
    });
    restart();
  }

  w.followupChat = { open: function () { if (ui.panel) open(); } };
  w.followup('chatContext', function (c) {
    ctx = c; config = c.config || {};
    build();
    hours(config);
    exitIntent();
    idleInvite();
    if (linkToken()) open();  // from an email's chat link: the chat opens on that conversation
    else if (saved()) session();  // a chat already going: reconnect, so waiting replies arrive
  });
})(window, document);
