// Segments section of the flows page: "N contacts match" while the form is edited, from
// POST /api/v1/segments/count (the same indexed count the list shows). Text only, never HTML.
(function () {
  "use strict";
  const form = document.getElementById("segment-form");
  if (!form) return;
  const out = document.getElementById("segment-live-count");
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  let timer = null;
  let asked = 0;

  function value(name) { const f = form.elements[name]; return f ? String(f.value || "").trim() : ""; }
  function list(name) { return value(name).split(",").map((s) => s.trim()).filter(Boolean); }

  function conditions() {
    const c = {};
    [["orders_count", "orders"], ["total_spent", "spent"], ["last_order_days", "days"]].forEach(([key, prefix]) => {
      const bounds = {};
      ["min", "max"].forEach((end) => { const v = value(`${prefix}_${end}`); if (v) bounds[end] = v; });
      if (Object.keys(bounds).length) c[key] = bounds;
    });
    ["tags_any", "tags_all", "tags_none", "countries"].forEach((key) => { const items = list(key); if (items.length) c[key] = items; });
    const sub = value("subscribed");
    if (sub) c.subscribed = sub === "yes";
    const groups = Array.from(form.querySelectorAll('input[name="groups"]:checked')).map((i) => i.value);
    if (groups.length) c.rfm_groups = groups;
    return c;
  }

  async function count() {
    const mine = ++asked;
    try {
      const res = await fetch("/api/v1/segments/count", {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify({ conditions: conditions() }),
      });
      const data = await res.json().catch(() => ({}));
      if (mine !== asked) return; // a later edit asked again
      if (res.ok) {
        out.className = "badge brand";
        out.textContent = `${data.matching} ${data.matching === 1 ? "contact matches" : "contacts match"}`;
      } else {
        out.className = "badge warn";
        out.textContent = String(data.detail || "Check the fields").replace(/^conditions\./, "").replace(/_/g, " ");
      }
    } catch (e) {
      if (mine === asked) { out.className = "badge warn"; out.textContent = "Count unavailable: check your connection"; }
    }
  }

  function later() { clearTimeout(timer); timer = setTimeout(count, 300); }
  form.addEventListener("input", later);
  form.addEventListener("change", later);
  count();
})();
