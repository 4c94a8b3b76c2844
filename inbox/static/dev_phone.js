// Dev shopper phone: send texts through the inbound service and show both directions for the number.
(() => {
  "use strict";
  const $ = (id) => document.getElementById(id);
  function showNumber() {
    const chosen = $("store").selectedOptions[0];
    if (chosen) document.querySelector("[data-testid=store-number]").textContent = chosen.dataset.number;
  }
  async function refresh() {
    if (!$("store").value) return;
    const params = new URLSearchParams({ number: $("from").value.trim(), store_id: $("store").value });
    const data = await (await fetch("/dev/phone/messages?" + params)).json();
    const ol = $("phone-messages");
    ol.replaceChildren(...data.messages.map((m) => {
      const li = document.createElement("li");
      li.className = "msg " + (m.direction === "inbound" ? "out" : "in");
      li.textContent = m.body;
      return li;
    }));
    ol.scrollTop = ol.scrollHeight;
  }
  $("phone-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    $("phone-error").textContent = "";
    const response = await fetch("/dev/phone/send", { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ store_id: Number($("store").value), from: $("from").value.trim(), body: $("phone-body").value }) });
    if (!response.ok) { $("phone-error").textContent = (await response.json()).detail; return; }
    $("phone-body").value = "";
    refresh();
  });
  $("from").addEventListener("change", refresh);
  $("store").addEventListener("change", () => { showNumber(); refresh(); });
  showNumber();
  refresh();
  setInterval(refresh, 2000);
})();
