// FollowUp inbox: list, thread, cart and composer, live over a websocket with catch-up and a polling fallback.
// Shopper text only ever reaches the page through textContent and text nodes, never as markup.
(() => {
  "use strict";
  const boot = JSON.parse(document.getElementById("boot").textContent);
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const $ = (id) => document.getElementById(id);
  const state = {
    view: "all", status: "open", q: "", sort: "recent", convs: new Map(), order: [], selected: null,
    messages: new Map(), cursor: 0, lastEventAt: null, viewers: new Map(), agents: [], canned: [],
    thread: null, channel: "sms", clientId: null, ws: null, wsFailures: 0, everOpen: false, polling: null,
  };
  const zoneFmt = new Intl.DateTimeFormat(undefined, { timeZone: boot.store.timezone, hour: "2-digit", minute: "2-digit" });
  const dayFmt = new Intl.DateTimeFormat(undefined, { timeZone: boot.store.timezone, month: "short", day: "numeric" });

  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  function when(iso) {
    if (!iso) return "";
    const d = new Date(iso);
    return Date.now() - d.getTime() < 86400000 ? zoneFmt.format(d) : dayFmt.format(d);
  }
  async function api(path, options = {}) {
    const init = { credentials: "same-origin", headers: { "X-CSRF-Token": csrf }, ...options };
    if (options.json !== undefined) {
      init.body = JSON.stringify(options.json);
      init.headers["Content-Type"] = "application/json";
      init.method = init.method || "POST";
    }
    const response = await fetch("/inbox/api/v1" + path, init);
    if (response.status === 401) { location.href = "/login?next=/inbox"; throw new Error("login"); }
    const body = response.status === 204 ? null : await response.json();
    if (!response.ok) throw new Error((body && body.detail) || response.statusText);
    return body;
  }
  function newClientId() {
    return (crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random().toString(16).slice(2)).replace(/[^A-Za-z0-9_-]/g, "");
  }

  // ---------- list ----------
  function matchesFilters(c) {
    if (state.status !== "any" && c.status !== state.status) return false;
    if (state.view === "mine" && !(c.assignee && c.assignee.id === boot.agent.id)) return false;
    if (state.view === "unassigned" && c.assignee) return false;
    return true;
  }
  async function loadList() {
    const params = new URLSearchParams({ view: state.view, status: state.status, q: state.q, sort: state.sort });
    const data = await api("/conversations?" + params);
    state.convs = new Map(data.conversations.map((c) => [c.id, c]));
    state.order = data.conversations.map((c) => c.id);
    for (const c of data.conversations) state.cursor = Math.max(state.cursor, c.last_message_id || 0);
    renderList();
  }
  function upsertConversation(c) {
    // Unread is per agent: keep what this agent has seen and derive unread from the shared counter.
    const old = state.convs.get(c.id);
    const seen = c.unread != null ? c.inbound_count - c.unread
      : old ? old.inbound_count - (old.unread || 0) : 0;
    // Live frames carry no score: keep the one the list read.
    const merged = { ...c, score: c.score !== undefined ? c.score : old && old.score,
      unread: state.selected === c.id ? 0 : Math.max(c.inbound_count - seen, 0) };
    if (!matchesFilters(merged) || (state.q && !old)) { state.convs.delete(c.id); }
    else state.convs.set(c.id, merged);
    const list = [...state.convs.values()];
    const byView = state.view === "unassigned"
      ? (a, b) => (a.waiting_since || "").localeCompare(b.waiting_since || "") || a.id - b.id
      : (a, b) => (b.last_message_at || "").localeCompare(a.last_message_at || "") || b.id - a.id;
    const likelihood = (x) => (x.score ? Number(x.score.likelihood) : -1);
    list.sort(state.sort === "score" ? (a, b) => likelihood(b) - likelihood(a) || b.id - a.id : byView);
    state.order = list.map((x) => x.id);
    renderList();
  }
  function renderList() {
    const ul = $("conversations");
    ul.replaceChildren();
    for (const id of state.order) {
      const c = state.convs.get(id);
      const li = el("li", "conv" + (c.unread ? " unread" : "") + (state.selected === id ? " selected" : ""));
      li.tabIndex = 0; li.dataset.id = id; li.setAttribute("role", "button");
      const top = el("div", "top");
      top.append(el("span", "name", c.contact.name || c.contact.phone || c.contact.email || "Shopper"),
        el("span", "time", when(c.last_message_at)));
      const meta = el("div", "meta");
      if (c.unread) meta.append(el("span", "unread-count", c.unread));
      meta.append(el("span", "badge " + (c.status === "open" ? "ok" : c.status === "snoozed" ? "warn" : ""),
        c.status === "snoozed" && c.snoozed_until ? "snoozed · " + when(c.snoozed_until) : c.status));
      meta.append(el("span", "assignee", c.assignee ? "→ " + c.assignee.name : "unassigned"));
      if (c.contact.sms_held) meta.append(el("span", "badge danger", "May be opt-out"));
      if (c.score) {
        const chance = el("span", "badge score", c.score.percent + "% likely");
        chance.title = "Predicted chance this cart is bought" + (c.score.expected_value_text ? ", worth about " + c.score.expected_value_text : "");
        meta.append(chance);
      }
      const frt = responseBadge(c, false);
      if (frt) meta.append(frt);
      const watching = [...state.viewers.entries()].filter(([a, v]) => v.conv === id && a !== boot.agent.id);
      if (watching.length) meta.append(el("span", "viewers", "👁 " + watching.map(([, v]) => v.name).join(", ")));
      li.append(top, el("div", "preview", c.last_message_preview), meta);
      li.addEventListener("click", () => openConversation(id));
      li.addEventListener("keydown", (e) => { if (e.key === "Enter") openConversation(id); });
      ul.append(li);
    }
    $("list-empty").hidden = state.order.length > 0;
  }

  // ---------- thread ----------
  async function openConversation(id) {
    state.selected = id;
    state.clientId = newClientId();
    $("inbox").dataset.view = "thread";
    const data = await api("/conversations/" + id);
    state.thread = data;
    state.messages = new Map(data.messages.map((m) => [m.id, m]));
    for (const m of data.messages) state.cursor = Math.max(state.cursor, m.id);
    $("thread-empty").hidden = true; $("thread").hidden = false;
    setChannel(data.reply_channel || "sms", data.channels || {});
    renderHeader(data.conversation, data.quiet_hours);
    renderMessages(true);
    renderCart(data.cart);
    const c = state.convs.get(id); if (c) { c.unread = 0; }
    renderList();
    markRead(id);
    sendFrame({ type: "viewing", conversation_id: id });
    $("body").focus();
  }
  // keepalive: an agent who leaves right after opening a thread still has it marked read
  function markRead(id) { api("/conversations/" + id + "/read", { method: "POST", keepalive: true }).catch(() => {}); }
  function renderHeader(c, quiet) {
    $("contact-name").textContent = c.contact.name || c.contact.phone || c.contact.email || "Shopper";
    $("contact-meta").textContent = [c.contact.phone, c.contact.email].filter(Boolean).join(" · ");
    const sel = $("assignee"); sel.replaceChildren();
    const none = el("option", "", "Unassigned"); none.value = ""; sel.append(none);
    for (const a of state.agents) { const o = el("option", "", a.name); o.value = a.id; sel.append(o); }
    sel.value = c.assignee ? String(c.assignee.id) : "";
    $("close-btn").hidden = c.status === "closed"; $("reopen-btn").hidden = c.status !== "closed";
    if (quiet) {
      $("quiet").hidden = !quiet.quiet || state.channel !== "sms";  // quiet hours are for texts
      $("quiet").textContent = quiet.quiet ? `It is ${quiet.local_time} for this shopper (${quiet.zone}). That is outside the hours recovery texts are allowed (state law and the store's quiet hours): only answer if they are waiting on you.` : "";
    }
    renderResponse(c);
    renderConsent(c.contact);
    renderViewers();
  }
  function renderConsent(contact) {
    $("optout").hidden = !contact.sms_opted_out;
    $("maybe-optout").hidden = !contact.sms_held;
    $("optout-error").textContent = "";
    $("send").disabled = contact.sms_opted_out && state.channel === "sms" && !$("as-note").checked;
  }
  // The reply channel is chosen per message; a thread opens on the one the shopper last wrote on.
  function setChannel(channel, available) {
    const sel = $("channel");
    for (const o of sel.options) o.disabled = available[o.value] === false;
    state.channel = channel; sel.value = channel;
    applyChannel();
  }
  function applyChannel() {
    const note = $("as-note").checked, email = state.channel === "email";
    $("body").maxLength = email ? 20000 : 1600;
    $("channel").hidden = note;
    $("send").textContent = note ? "Add note" : email ? "Send email" : "Send SMS";
    if (state.channel === "chat") applyChat(note);
    const quiet = state.thread && state.thread.quiet_hours;
    if (quiet) $("quiet").hidden = !quiet.quiet || email;
    if (state.thread) renderConsent(state.thread.conversation.contact);
    updateSegments();
  }
  const KB = (n) => n >= 1048576 ? (n / 1048576).toFixed(1) + " MB" : Math.max(1, Math.round(n / 1024)) + " KB";
  function renderViewers() {
    const names = [...state.viewers.entries()].filter(([a, v]) => v.conv === state.selected && a !== boot.agent.id).map(([, v]) => v.name);
    $("viewers").textContent = names.length ? "Also viewing: " + names.join(", ") : "";
  }
  // --- Live chat (issue 16 point 3): the chat channel's badge, composer and delivery words ---
  const CHANNEL_BADGE = { sms: "SMS", email: "Email", chat: "Chat" };
  const CHAT_STATE_LABEL = { queued: "shopper has left the site; they see it when they come back", delivered: "on the shopper's screen ✓" };
  function applyChat(note) {
    $("body").maxLength = 2000;
    if (!note) $("send").textContent = "Send chat";
    if ($("quiet")) $("quiet").hidden = true;  // quiet hours are for texts
  }
  // --- end live chat ---
  const STATE_LABEL = { sending: "sending…", queued: "queued", sent: "sent", delivered: "delivered ✓", undelivered: "undelivered", failed: "failed", received: "", unknown: "unknown" };
  function renderMessages(scroll) {
    const ol = $("messages");
    const atBottom = ol.scrollHeight - ol.scrollTop - ol.clientHeight < 80;
    ol.replaceChildren();
    const sorted = [...state.messages.values()].sort((a, b) => a.id - b.id);
    for (const m of sorted) {
      const kind = m.author === "note" ? "note" : m.direction === "inbound" ? "in" : "out";
      const li = el("li", "msg " + kind + (m.author === "automation" ? " automation" : "") + (m.author === "system" ? " system" : ""));
      li.dataset.id = m.id;
      if (m.author !== "note") li.append(el("span", "channel" + (m.channel === "chat" ? " chat" : ""), CHANNEL_BADGE[m.channel] || "SMS"));
      if (m.channel === "email" && m.subject) li.append(el("span", "subject", m.subject));
      li.append(document.createTextNode(m.body));
      if ((m.attachments || []).length) {
        li.append(el("span", "files", "Attached: " + m.attachments.map((a) => `${a.filename} (${KB(a.size)})`).join(", ")));
      }
      for (const url of m.media_urls || []) {
        const a = el("a"); a.href = url; a.target = "_blank"; a.rel = "noopener noreferrer";
        const img = el("img"); img.src = url; img.alt = "Photo from shopper"; img.loading = "lazy";
        a.append(img); li.append(a);
      }
      const who = m.author === "automation" ? "Automated" + (m.step_index != null ? " · step " + (m.step_index + 1) : "")
        : m.author === "note" ? "Note · " + (m.agent_name || "agent")
        : m.author === "agent" ? (m.agent_name || "Agent") : m.author === "system" ? "Auto-reply" : "";
      const foot = el("span", "foot");
      foot.append(document.createTextNode([who, when(m.created_at)].filter(Boolean).join(" · ")));
      if (m.direction === "outbound" && m.author !== "note") {
        const label = (m.channel === "chat" && CHAT_STATE_LABEL[m.status]) || (STATE_LABEL[m.status] ?? m.status);
        const st = el("span", "state-" + m.status, " · " + label + (m.error_code ? " (" + m.error_code + ")" : ""));
        st.dataset.status = m.status; foot.append(st);
      }
      li.append(foot);
      ol.append(li);
    }
    if (scroll || atBottom) ol.scrollTop = ol.scrollHeight;
  }
  function renderCart(cart) {
    $("cart-empty").hidden = !!cart; $("cart").hidden = !cart;
    $("cart-error").textContent = "";
    $("cart-empty-text").textContent = state.selected ? "No live cart for this shopper." : "Open a conversation to see the shopper's cart.";
    if (!cart) return;
    $("cart-status").textContent = { completed: "ordered" }[cart.status] || cart.status;
    const ul = $("cart-items"); ul.replaceChildren();
    for (const item of cart.items) {
      const li = el("li");
      const img = el("img"); img.alt = ""; if (item.image_url) img.src = item.image_url;
      const text = el("div");
      text.append(el("div", "", item.title), el("div", "muted", [item.variant_title, "× " + item.quantity, item.line_total_text].filter(Boolean).join(" · ")));
      li.append(img, text); ul.append(li);
    }
    $("cart-total").textContent = cart.total_text || cart.total + " " + cart.currency;
    const score = cart.score;
    $("cart-score").hidden = !score;
    $("cart-score").textContent = score ? score.percent + "% likely to be bought" +
      (score.expected_value_text ? " · worth about " + score.expected_value_text : "") +
      (score.source === "prior" ? " (store average, too little history to predict yet)" : "") : "";
    const link = $("cart-link");
    if (cart.magic_link) { link.href = cart.magic_link; link.hidden = false; } else { link.hidden = true; }
    $("insert-link").hidden = !cart.magic_link;
    const seq = cart.sequence || {};
    const enrolled = seq.enrolled !== false;
    $("sequence-state").textContent = enrolled ? seq.summary : "No sequence for this cart.";
    $("sequence-next").textContent = nextStepText(seq.next_step);
    $("sequence-next").hidden = !seq.next_step;
    // Only what makes sense now: Pause and Stop while running, Resume and Stop while paused.
    document.querySelectorAll("[data-seq]").forEach((b) => { b.hidden = !(seq.actions || []).includes(b.dataset.seq); });
    $("discount").disabled = !enrolled;
    renderDiscount(cart.discount);
    renderEarlierCarts(cart.earlier_carts || []);
  }
  // ---------- earlier carts: the same shopper on another device (one abandonment) ----------
  function renderEarlierCarts(carts) {
    const box = $("earlier-carts"), ul = $("earlier-carts-list");
    box.hidden = !carts.length; ul.replaceChildren();
    for (const c of carts) {
      const device = { mobile: "phone", desktop: "computer", tablet: "tablet" }[c.device] || "another device";
      ul.append(el("li", "", [c.total_text || c.total + " " + c.currency, c.items.length + " item" + (c.items.length === 1 ? "" : "s"), "on a " + device, when(c.last_activity_at)].join(" · ")));
    }
  }
  function renderDiscount(d) {
    $("cart-discount").hidden = !d;
    if (!d) return;
    $("cart-discount-code").textContent = d.code;
    $("cart-discount-meta").textContent = [d.label, d.expires_at && "until " + when(d.expires_at), d.valid ? "" : "no longer valid"].filter(Boolean).join(" · ");
  }
  const CHANNEL = { sms: "SMS", email: "email", auto: "SMS or email" };
  function nextStepText(step) {
    if (!step) return "";
    if (!step.local_time) return `Next: ${CHANNEL[step.channel] || step.channel}, once the sequence is resumed`;
    const why = step.reason ? `, ${step.reason}` : "";
    return `Next: ${CHANNEL[step.channel] || step.channel} at ${step.local_time} in the shopper's time${why}`;
  }
  function applyMessage(m) {
    state.cursor = Math.max(state.cursor, m.id);
    if (m.conversation_id === state.selected) {
      state.messages.set(m.id, m);  // a Map keyed by id: replays and catch-up never duplicate
      renderMessages(false);
    }
  }

  // ---------- live ----------
  function setLive(text, cls) { const s = $("live-state"); s.textContent = text; s.className = "live-state " + (cls || ""); }
  function sendFrame(frame) { if (state.ws && state.ws.readyState === 1) state.ws.send(JSON.stringify(frame)); }
  function handleEvent(ev) {
    state.lastEventAt = new Date();
    if (ev.type === "message") {
      applyMessage(ev.message);
      upsertConversation(ev.conversation);
      if (ev.conversation.id === state.selected) { renderConsent(ev.conversation.contact); renderResponse(ev.conversation); }
      if (ev.conversation.id === state.selected && ev.message.direction === "inbound") {
        markRead(state.selected);
      }
    } else if (ev.type === "conversation") {
      upsertConversation(ev.conversation);
      if (ev.conversation.id === state.selected) renderHeader(ev.conversation, null);
    } else if (ev.type === "viewing") {
      if (ev.conversation_id == null) state.viewers.delete(ev.agent_id);
      else state.viewers.set(ev.agent_id, { conv: ev.conversation_id, name: ev.agent_name });
      renderViewers(); renderList();
    } else if (ev.type === "hello") {
      state.viewers = new Map(Object.entries(ev.viewers || {}).map(([a, c]) => [Number(a), { conv: c, name: agentName(Number(a)) }]));
    }
  }
  function agentName(id) { const a = state.agents.find((x) => x.id === id); return a ? a.name : "agent"; }
  async function catchUp() {
    const since = state.lastEventAt ? new Date(state.lastEventAt.getTime() - 30000).toISOString() : "";
    const params = new URLSearchParams({ after: String(state.cursor) });
    if (since) params.set("since", since);
    const data = await api("/changes?" + params);
    for (const c of data.conversations) upsertConversation(c);
    for (const m of data.messages) applyMessage(m);
    state.cursor = Math.max(state.cursor, data.cursor);
    state.lastEventAt = new Date();
  }
  function connect() {
    if (!("WebSocket" in window)) return startPolling();
    const ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/inbox/ws");
    state.ws = ws;
    let opened = false;
    ws.onopen = () => {
      opened = true; state.everOpen = true; state.wsFailures = 0; stopPolling();
      setLive("Live", "live");
      catchUp().catch(() => {});
      if (state.selected) sendFrame({ type: "viewing", conversation_id: state.selected });
    };
    ws.onmessage = (e) => { try { handleEvent(JSON.parse(e.data)); } catch (err) { console.error(err); } };
    ws.onclose = (e) => {
      state.ws = null;
      if (e.code === 4401) { location.href = "/login?next=/inbox"; return; }
      if (!opened) state.wsFailures += 1;
      if (!state.everOpen && state.wsFailures >= 3) { startPolling(); }
      else setLive("Reconnecting…", "degraded");
      const delay = Math.min(30000, 1000 * 2 ** Math.min(state.wsFailures, 5));
      setTimeout(connect, state.polling ? 30000 : delay);
    };
  }
  function startPolling() {
    if (state.polling) return;
    setLive(`Live updates blocked: checking every ${boot.poll_seconds} s`, "degraded");
    state.polling = setInterval(async () => {
      try { await catchUp(); if (state.selected) await refreshThread(); } catch (err) { console.error(err); }
    }, boot.poll_seconds * 1000);
  }
  function stopPolling() { if (state.polling) { clearInterval(state.polling); state.polling = null; } }
  async function refreshThread() {
    const data = await api("/conversations/" + state.selected);
    for (const m of data.messages) state.messages.set(m.id, m);
    renderMessages(false);
  }
  setInterval(() => sendFrame({ type: "ping" }), 20000);

  // ---------- first response: waiting, overdue (live, from the due time the server sends) ----------
  // The server's clock, not the browser's, decides: the offset is measured when the page loads.
  const clockOffset = boot.server_now ? new Date(boot.server_now).getTime() - Date.now() : 0;
  function responseBadge(c, long) {
    const fr = c.first_response;
    if (!fr) return null;
    if (fr.answered_at) {
      if (!long) return null;
      const b = el("span", "badge frt " + (fr.within_target ? "ok" : "warn"), "First reply in " + fr.text);
      b.title = fr.within_target ? "Answered within the store's target" : "Answered after the store's target";
      return b;
    }
    const b = el("span", "badge frt waiting");
    b.dataset.due = String(new Date(fr.due_at).getTime());
    b.dataset.since = fr.waiting_since;
    paintDue(b);
    return b;
  }
  function renderResponse(c) {
    const line = $("first-response"); line.replaceChildren();
    const badge = responseBadge(c, true); if (badge) line.append(badge);
  }
  function paintDue(b) {
    const late = Date.now() + clockOffset > Number(b.dataset.due);
    b.classList.toggle("overdue", late); b.classList.toggle("danger", late);
    b.textContent = (late ? "Overdue · waiting since " : "Waiting since ") + when(b.dataset.since);
    b.title = late ? "No agent has answered within the store's reply target" : "Reply by " + when(new Date(Number(b.dataset.due)).toISOString());
  }
  setInterval(() => document.querySelectorAll(".frt[data-due]").forEach(paintDue), 1000);

  // ---------- composer ----------
  const GSM = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
  const GSM_EXT = "^{}\\[~]|€\f";
  function segments(text) {
    const chars = [...text];
    let gsm = true, units = 0;
    for (const ch of chars) { if (GSM.includes(ch)) units += 1; else if (GSM_EXT.includes(ch)) units += 2; else { gsm = false; break; } }
    if (!gsm) units = text.length;  // UTF-16 code units, as carriers count them
    const single = gsm ? 160 : 70, multi = gsm ? 153 : 67;
    const segs = units === 0 ? 0 : units <= single ? 1 : Math.ceil(units / multi);
    return { enc: gsm ? "GSM-7" : "UCS-2", units, segs };
  }
  function updateSegments() {
    const s = segments($("body").value);
    if ($("as-note").checked) { $("segments").textContent = "internal note"; return; }
    if (state.channel === "email") { $("segments").textContent = `${$("body").value.length} chars · email`; return; }
    if (state.channel === "chat") { $("segments").textContent = `${$("body").value.length} chars · live chat`; return; }
    $("segments").textContent = `${s.units} chars · ${s.segs} segment${s.segs === 1 ? "" : "s"} · ${s.enc}`;
  }
  function mergeValues() {
    const c = state.thread ? state.thread.conversation.contact : {};
    const cart = state.thread ? state.thread.cart : null;
    const [first, ...rest] = (c.name || "").split(" ");
    return { first_name: first || "there", last_name: rest.join(" "), store_name: boot.store.name, agent_name: boot.agent.name,
      cart_link: cart && cart.magic_link ? cart.magic_link : "", cart_total: cart ? cart.total + " " + cart.currency : "" };
  }
  function merge(template) {
    const values = mergeValues();
    return template.replace(/\{\{\s*([a-z_]+)\s*\}\}/g, (all, name) => (name in values ? values[name] : all));
  }
  function insertText(text) {
    const body = $("body");
    const start = body.selectionStart ?? body.value.length;
    body.value = body.value.slice(0, start) + text + body.value.slice(body.selectionEnd ?? start);
    body.focus(); updateSegments();
  }
  async function send(e) {
    if (e) e.preventDefault();
    const text = $("body").value.trim();
    if (!text || !state.selected) return;
    const note = $("as-note").checked;
    $("send").disabled = true; $("send-error").textContent = "";
    try {
      const path = `/conversations/${state.selected}/${note ? "notes" : "messages"}`;
      const json = { body: text, client_id: state.clientId };
      if (!note) json.channel = state.channel;
      const res = await api(path, { json });
      applyMessage({ ...res.message, conversation_id: state.selected });
      $("body").value = ""; state.clientId = newClientId(); updateSegments();
    } catch (err) {
      $("send-error").textContent = err.message;  // the same client id is kept: retrying never sends twice
    } finally { $("send").disabled = false; }
  }

  // ---------- wiring ----------
  $("composer").addEventListener("submit", send);
  $("body").addEventListener("input", updateSegments);
  $("body").addEventListener("keydown", (e) => { if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) send(e); });
  $("as-note").addEventListener("change", () => {
    $("composer").classList.toggle("noting", $("as-note").checked);
    if (state.thread) renderHeader(state.thread.conversation, null);
    applyChannel();
  });
  $("channel").addEventListener("change", (e) => { state.channel = e.target.value; state.clientId = newClientId(); applyChannel(); });
  $("canned").addEventListener("change", (e) => {
    const c = state.canned.find((x) => String(x.id) === e.target.value);
    if (c) insertText(merge(c.body));
    e.target.value = "";
  });
  $("insert-link").addEventListener("click", () => { const l = mergeValues().cart_link; if (l) insertText(l); });
  $("discount").addEventListener("click", async () => {
    try {
      const d = await api(`/conversations/${state.selected}/discount`, { method: "POST" });
      insertText(d.code);
      if (state.thread && state.thread.cart) { state.thread.cart.discount = d; renderDiscount(d); }
    }
    catch (err) { $("cart-error").textContent = err.message; }
  });
  document.querySelectorAll("[data-seq]").forEach((b) => b.addEventListener("click", async () => {
    try { const seq = await api(`/conversations/${state.selected}/sequence`, { json: { action: b.dataset.seq } });
      state.thread.cart.sequence = seq; renderCart(state.thread.cart); }
    catch (err) { $("cart-error").textContent = err.message; }
  }));
  document.querySelectorAll("[data-optout]").forEach((b) => b.addEventListener("click", async () => {
    try { await setStatus("opt-out", { decision: b.dataset.optout }); }
    catch (err) { $("optout-error").textContent = err.message; }
  }));
  $("assignee").addEventListener("change", async (e) => {
    const agentId = e.target.value ? Number(e.target.value) : null;
    const c = await api(`/conversations/${state.selected}/assign`, { json: { agent_id: agentId } });
    upsertConversation(c);
  });
  async function setStatus(path, json) {
    const c = await api(`/conversations/${state.selected}/${path}`, json ? { json } : { method: "POST" });
    upsertConversation(c); state.thread.conversation = c; renderHeader(c, null);
  }
  $("close-btn").addEventListener("click", () => setStatus("close"));
  $("reopen-btn").addEventListener("click", () => setStatus("reopen"));
  $("snooze-go").addEventListener("click", () => {
    const v = $("snooze-until").value;
    if (v) setStatus("snooze", { until: new Date(v).toISOString() }).then(() => { document.querySelector(".snooze").open = false; }, (err) => alert(err.message));
  });
  $("back").addEventListener("click", () => { $("inbox").dataset.view = "list"; sendFrame({ type: "viewing", conversation_id: null }); });
  $("show-cart").addEventListener("click", () => { $("inbox").dataset.view = "cart"; });
  $("cart-back").addEventListener("click", () => { $("inbox").dataset.view = "thread"; });
  document.querySelectorAll("[data-view-filter]").forEach((b) => b.addEventListener("click", () => {
    state.view = b.dataset.viewFilter;
    document.querySelectorAll("[data-view-filter]").forEach((x) => x.classList.toggle("on", x === b));
    loadList();
  }));
  $("status-filter").addEventListener("change", (e) => { state.status = e.target.value; loadList(); });
  $("sort-filter").addEventListener("change", (e) => { state.sort = e.target.value; loadList(); });
  let searchTimer = null;
  $("search").addEventListener("input", (e) => { clearTimeout(searchTimer); searchTimer = setTimeout(() => { state.q = e.target.value; loadList(); }, 250); });
  document.addEventListener("keydown", (e) => {
    const typing = ["INPUT", "TEXTAREA", "SELECT"].includes(document.activeElement.tagName);
    if (e.key === "/" && !typing) { e.preventDefault(); $("search").focus(); return; }
    if (e.key === "Escape" && typing) { document.activeElement.blur(); return; }
    if (typing || !state.order.length) return;
    const idx = state.order.indexOf(state.selected);
    if (e.key === "j" || e.key === "ArrowDown") { e.preventDefault(); openConversation(state.order[Math.min(idx + 1, state.order.length - 1)]); }
    if (e.key === "k" || e.key === "ArrowUp") { e.preventDefault(); openConversation(state.order[Math.max(idx - 1, 0)]); }
  });

  (async () => {
    const [agents, canned] = await Promise.all([api("/agents"), api("/canned")]);
    state.agents = agents.agents; state.canned = canned.canned;
    for (const c of state.canned) { const o = el("option", "", c.title); o.value = c.id; $("canned").append(o); }
    await loadList();
    // /inbox?conversation=ID (the Checkouts page's links) opens that thread of this store.
    const wanted = Number(new URLSearchParams(location.search).get("conversation"));
    if (wanted > 0) openConversation(wanted);
    connect();
    updateSegments();
  })();
})();
