// FollowUp dashboard: every figure follows abandonments and recoveries live, over the store's websocket.
// A frame only says "figures changed"; the page re-reads its figures at most once a second, so a
// burst of a thousand webhooks costs a handful of requests, never a thousand.
(() => {
  "use strict";
  const figures = document.getElementById("live-figures");
  const status = document.getElementById("live-state");
  if (!figures || !("WebSocket" in window)) return;
  const QUIET_MS = 1000;  // wait this long after a frame; frames meanwhile join the same refresh
  let timer = null, fetching = false, again = false, failures = 0;

  function say(text, cls) { status.textContent = text; status.className = "live-state muted small " + (cls || ""); }

  function typing() {
    const el = document.activeElement;
    return figures.contains(el) && el.matches("input, select, textarea");
  }

  async function refresh() {
    timer = null;
    if (typing()) { schedule(); return; }  // a merchant filling a form in the figures keeps it
    if (fetching) { again = true; return; }
    fetching = true;
    try {
      const response = await fetch(figures.dataset.liveSrc, { credentials: "same-origin", headers: { Accept: "text/html" } });
      if (response.status === 401 || response.redirected) { location.reload(); return; }
      if (!response.ok) throw new Error("HTTP " + response.status);
      const doc = new DOMParser().parseFromString(await response.text(), "text/html");
      figures.innerHTML = doc.querySelector("[data-part=live-figures]").innerHTML;
      say("Live · updated " + new Date().toLocaleTimeString(), "live");
    } catch (err) {
      console.error(err);
      say("Live, but the last update failed: it retries with the next change", "degraded");
    } finally {
      fetching = false;
      if (again) { again = false; schedule(); }
    }
  }
  function schedule() { if (!timer) timer = setTimeout(refresh, QUIET_MS); }

  function connect() {
    const ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/dashboard/ws");
    let opened = false, ping = null;
    ws.onopen = () => {
      opened = true;
      if (failures) schedule();  // back after a gap: what changed meanwhile
      failures = 0;
      say("Live", "live");
      ping = setInterval(() => ws.send(JSON.stringify({ type: "ping" })), 25000);
    };
    ws.onmessage = (e) => {
      try { if (JSON.parse(e.data).type === "stats") schedule(); } catch (err) { console.error(err); }
    };
    ws.onclose = (e) => {
      clearInterval(ping);
      if (e.code === 4401) { say("Not live: log in again to follow changes", "degraded"); return; }
      failures += 1;
      say(opened ? "Reconnecting…" : "Not live yet: retrying", "degraded");
      setTimeout(connect, Math.min(30000, 1000 * 2 ** Math.min(failures, 5)));
    };
  }
  connect();
})();
