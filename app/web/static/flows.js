// Flow editor: edits the flow in memory, previews the focused variant, saves with PATCH /api/v1/flows/{id}.
// Everything shown is built with textContent / value, never innerHTML, so merchant text stays text.
(function () {
  "use strict";
  const root = document.getElementById("editor");
  if (!root) return;
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const flowId = root.dataset.flowId;
  const flow = JSON.parse(document.getElementById("flows-data").textContent).find((f) => String(f.id) === flowId);
  const $ = (id) => document.getElementById(id);
  const UNITS = [["minutes", 60], ["hours", 3600], ["days", 86400]];
  const CHANNELS = [["sms", "SMS"], ["email", "Email"], ["auto", "Auto: SMS on mobile, else email"]];
  const KINDS = [["", "None"], ["percentage", "Percentage off"], ["fixed_amount", "Amount off"], ["free_shipping", "Free shipping"]];
  const SOURCES = [["auto", "Automatic (recommended)"], ["shopify", "Shopify: a unique code"], ["woocommerce", "WooCommerce: a unique coupon"], ["pool", "The uploaded code pool"], ["static", "One code for everyone"]];
  const SEGMENTS = JSON.parse((document.getElementById("segments-data") || { textContent: "[]" }).textContent);
  const emails = (step) => step.channel !== "sms"; // an auto step emails everyone it does not text
  let focus = { step: 0, variant: 0 };
  let timer = null;

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([k, v]) => {
      if (k === "text") node.textContent = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else if (v !== null && v !== undefined && v !== false) node.setAttribute(k, v === true ? "" : v);
    });
    (children || []).forEach((c) => c && node.appendChild(c));
    return node;
  }

  function field(label, input, wide) {
    const id = "f" + Math.random().toString(36).slice(2, 9);
    input.id = id;
    return el("div", { class: wide ? "wide" : null }, [el("label", { for: id, text: label }), input]);
  }

  function bestUnit(seconds) {
    for (let i = UNITS.length - 1; i >= 0; i--) if (seconds % UNITS[i][1] === 0 && seconds >= UNITS[i][1]) return UNITS[i];
    return UNITS[0];
  }

  function json(value) { return value && Object.keys(value).length ? JSON.stringify(value, null, 2) : ""; }

  function variantCard(step, s, v, vi) {
    const variant = step.variants[vi];
    const body = el("textarea", { rows: 5, "data-testid": `body-${s}-${vi}` });
    body.value = variant.body || "";
    body.addEventListener("input", () => { variant.body = body.value; schedulePreview(); });
    const key = el("input", { maxlength: 32, value: variant.key });
    key.addEventListener("input", () => { variant.key = key.value; });
    const weight = el("input", { type: "number", min: 0, step: "any", value: variant.weight });
    weight.addEventListener("input", () => { variant.weight = weight.value; });
    const card = el("div", { class: "variant" + (focus.step === s && focus.variant === vi ? " focused" : "") }, [
      el("div", { class: "inline" }, [field("Variant", key), field("Weight", weight)]),
    ]);
    if (step.channel === "auto") {
      const text = el("textarea", { rows: 3, "data-testid": `sms-body-${s}-${vi}` });
      text.value = variant.sms_body || "";
      text.addEventListener("input", () => { variant.sms_body = text.value; schedulePreview(); });
      card.appendChild(field("Text message (mobile shoppers who can be texted now)", text));
    }
    if (emails(step)) {
      const subject = el("input", { maxlength: 998, value: variant.subject || "", "data-testid": `subject-${s}-${vi}` });
      subject.addEventListener("input", () => { variant.subject = subject.value; schedulePreview(); });
      card.appendChild(field(step.channel === "auto" ? "Email subject (everyone else)" : "Subject", subject));
    }
    const bodyLabel = { sms: "Text message", email: "Body (plain text, Jinja placeholders)", auto: "Email body (plain text, Jinja placeholders)" };
    card.appendChild(field(bodyLabel[step.channel], body));
    if (emails(step)) {
      const html = el("textarea", { rows: 3, class: "code", placeholder: "Optional custom HTML; leave empty for the FollowUp layout" });
      html.value = variant.html || "";
      html.addEventListener("input", () => { variant.html = html.value || null; schedulePreview(); });
      card.appendChild(field("HTML (optional)", html));
    }
    if (step.variants.length > 1) {
      card.appendChild(el("button", { type: "button", class: "link danger", text: "Remove variant", onclick: () => { step.variants.splice(vi, 1); focus = { step: s, variant: 0 }; render(); } }));
    }
    card.addEventListener("focusin", () => { if (focus.step !== s || focus.variant !== vi) { focus = { step: s, variant: vi }; markFocus(); schedulePreview(0); } });
    card.dataset.step = s; card.dataset.variant = vi;
    return card;
  }

  // The step's incentive as form fields; `step.incentive` stays the object the API takes.
  function incentiveFields(step, s) {
    const spec = step.incentive || null;
    const kind = el("select", { "data-testid": `incentive-kind-${s}` }, KINDS.map(([value, text]) => el("option", { value, text })));
    kind.value = spec ? spec.kind || "percentage" : "";
    const box = el("div", { class: "stack" }, [el("div", { class: "inline" }, [field("Incentive", kind)])]);
    kind.addEventListener("change", () => {
      if (!kind.value) step.incentive = null;
      else {
        const next = Object.assign({ source: "auto", min_total: "0", expires_hours: 48 }, step.incentive || {}, { kind: kind.value });
        if (kind.value === "free_shipping") delete next.value; else if (!next.value) next.value = "10";
        step.incentive = next;
      }
      render(); schedulePreview(0);
    });
    if (!spec) return box;
    const set = (key, value) => { if (value === "" || value === null) delete spec[key]; else spec[key] = value; schedulePreview(); };
    const row = el("div", { class: "inline" });
    if (spec.kind !== "free_shipping") {
      const value = el("input", { type: "number", min: 0, step: "any", value: spec.value || "", "data-testid": `incentive-value-${s}` });
      value.addEventListener("input", () => set("value", value.value));
      row.appendChild(field(spec.kind === "fixed_amount" ? "Amount off" : "Percent off", value));
    }
    const minimum = el("input", { type: "number", min: 0, step: "any", value: spec.min_total || "0" });
    minimum.addEventListener("input", () => set("min_total", minimum.value || "0"));
    const hours = el("input", { type: "number", min: 1, max: 1440, step: 1, value: spec.expires_hours || 48 });
    hours.addEventListener("input", () => set("expires_hours", Number(hours.value)));
    row.appendChild(field("Minimum cart total", minimum));
    row.appendChild(field("Valid for (hours)", hours));
    box.appendChild(row);
    const source = el("select", { "data-testid": `incentive-source-${s}` }, SOURCES.map(([value, text]) => el("option", { value, text })));
    source.value = spec.source || "auto";
    source.addEventListener("change", () => { set("source", source.value); render(); });
    const sourceRow = el("div", { class: "inline" }, [field("Codes from", source)]);
    if (spec.source === "static") {
      const code = el("input", { maxlength: 64, value: spec.code || "" });
      code.addEventListener("input", () => set("code", code.value.trim()));
      sourceRow.appendChild(field("Code", code));
    }
    box.appendChild(sourceRow);
    return box;
  }

  // Which contacts get this step: everyone, or one segment (the others skip it and go on).
  function segmentField(step, s) {
    const options = [["", "Everyone in the flow"], ...SEGMENTS.map((g) => [String(g.id), `Only the segment ${g.name}`])];
    const pick = el("select", { "data-testid": `step-segment-${s}` }, options.map(([value, text]) => el("option", { value, text })));
    pick.value = step.segment_id ? String(step.segment_id) : "";
    pick.addEventListener("change", () => { step.segment_id = pick.value ? Number(pick.value) : null; });
    return el("div", { class: "inline" }, [field("Send this step to", pick)]);
  }

  function stepCard(step, s) {
    const channel = el("select", { "data-testid": `channel-${s}` }, CHANNELS.map(([value, text]) => el("option", { value, text })));
    channel.value = step.channel;
    channel.addEventListener("change", () => {
      // From SMS to auto, the text the merchant wrote becomes the text-message part.
      if (step.channel === "sms" && channel.value === "auto") step.variants.forEach((v) => { if (!v.sms_body) v.sms_body = v.body; });
      step.channel = channel.value; render(); schedulePreview(0);
    });
    const [unitName, unitSeconds] = bestUnit(step.delay_seconds);
    const amount = el("input", { type: "number", min: 0, step: 1, value: step.delay_seconds / unitSeconds, "data-testid": `delay-${s}` });
    const unit = el("select", {}, UNITS.map(([n]) => el("option", { value: n, text: n })));
    unit.value = unitName;
    const syncDelay = () => { step.delay_seconds = Math.round(Number(amount.value || 0) * UNITS.find((u) => u[0] === unit.value)[1]); };
    amount.addEventListener("input", syncDelay); unit.addEventListener("change", syncDelay);
    const conditions = el("textarea", { rows: 2, class: "code", placeholder: '{"min_total": "50", "max_score": "0.3"}' });
    conditions.value = json(step.conditions);
    conditions.addEventListener("input", () => { step._conditions = conditions.value; });
    const card = el("section", { class: "card step stack" }, [
      el("div", { class: "head" }, [
        el("h3", { text: `Step ${s + 1}` }),
        s > 0 ? el("button", { type: "button", class: "link", text: "Move up", onclick: () => { flow.steps.splice(s - 1, 0, flow.steps.splice(s, 1)[0]); render(); } }) : null,
        el("button", { type: "button", class: "link danger", text: "Remove", onclick: () => { flow.steps.splice(s, 1); focus = { step: 0, variant: 0 }; render(); schedulePreview(0); } }),
      ]),
      el("div", { class: "inline" }, [field("Channel", channel, true), field("Wait", amount), field("Unit", unit)]),
      step.channel === "auto" ? el("p", { class: "muted small", text: "Texts a shopper on a phone with SMS consent, inside quiet hours and within 48 hours of abandonment (one text per abandonment); everyone else gets the email." }) : null,
      incentiveFields(step, s),
      segmentField(step, s),
      el("details", {}, [el("summary", { text: "Conditions" }),
        field("Conditions (JSON, empty for none)", conditions)]),
    ]);
    step.variants.forEach((v, vi) => card.appendChild(variantCard(step, s, v, vi)));
    card.appendChild(el("button", { type: "button", class: "secondary", text: "Add A/B variant", onclick: () => {
      const keys = step.variants.map((v) => v.key);
      const next = "abcdef".split("").find((k) => !keys.includes(k)) || "x";
      step.variants.push({ ...step.variants[0], key: next, weight: "1" }); render(); } }));
    return card;
  }

  function markFocus() {
    document.querySelectorAll(".variant").forEach((n) => n.classList.toggle("focused", Number(n.dataset.step) === focus.step && Number(n.dataset.variant) === focus.variant));
  }

  function render() {
    const list = $("steps");
    list.replaceChildren(...flow.steps.map(stepCard));
    if (!flow.steps.length) list.appendChild(el("section", { class: "card empty" }, [el("h3", { text: "No steps" }), el("p", { text: "Add a step: an SMS within minutes and a few emails over the next days work best." })]));
  }

  function parseJson(text, fallback, where) {
    if (text === undefined) return fallback;
    if (!text.trim()) return where === "conditions" ? {} : null;
    try { return JSON.parse(text); } catch (e) { throw new Error(`${where}: not valid JSON (${e.message})`); }
  }

  function payload() {
    return {
      name: $("flow-name").value,
      enabled: $("flow-enabled").value === "true",
      holdout_percent: String($("flow-holdout").value || "0"),
      sold_out: $("flow-sold-out").value,
      segment_id: $("flow-segment").value ? Number($("flow-segment").value) : null,
      steps: flow.steps.map((s, i) => ({
        channel: s.channel, delay_seconds: s.delay_seconds, segment_id: s.segment_id || null,
        conditions: parseJson(s._conditions, s.conditions || {}, `step ${i + 1} conditions`),
        incentive: s.incentive || null,
        variants: s.variants.map((v) => {
          const out = { key: v.key, weight: String(v.weight), body: v.body };
          if (emails(s)) { if (v.subject) out.subject = v.subject; if (v.html) out.html = v.html; }
          if (s.channel === "auto") out.sms_body = v.sms_body || "";
          return out;
        }),
      })),
    };
  }

  // The API names places as `steps[0].variants[0].body`; a merchant reads "Step 1, variant A, message body".
  const FIELDS = { body: "message body", subject: "subject", sms_body: "text message", html: "HTML", key: "variant name",
    weight: "weight", delay_seconds: "wait", segment_id: "segment", conditions: "conditions", incentive: "incentive", variants: "variants",
    "incentive.kind": "discount kind", "incentive.value": "discount amount", "incentive.min_total": "minimum cart",
    "incentive.expires_hours": "code lifetime", "incentive.source": "where codes come from" };
  const placeName = (f) => FIELDS[f] || f.replace(/[._]/g, " ");
  const variantName = (s, v) => {
    const key = flow.steps[s] && flow.steps[s].variants[v] ? String(flow.steps[s].variants[v].key) : "";
    return /^[a-z]$/i.test(key) ? key.toUpperCase() : key || String.fromCharCode(65 + v);
  };
  function humanize(message, where) {
    let text = String(message);
    if (where) text = text.replace(/^template\./, `steps[${where.step}].variants[${where.variant}].`);
    return text
      .replace(/steps\[(\d+)\]\.variants\[(\d+)\](?:\.(\w+))?(?: \(variant '[^']*'\))?/g, (all, s, v, f) => `Step ${Number(s) + 1}, variant ${variantName(Number(s), Number(v))}` + (f ? `, ${placeName(f)}` : ""))
      .replace(/steps\[(\d+)\](?:\.([\w.]+))?/g, (all, s, f) => `Step ${Number(s) + 1}` + (f ? `, ${placeName(f)}` : ""))
      .replace(/holdout_percent/g, "Holdout share")
      .replace(/delay_seconds/g, "wait")
      .replace(/sms_body/g, "text message");
  }

  async function call(method, url, body) {
    const res = await fetch(url, { method, headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf }, body: JSON.stringify(body), credentials: "same-origin" });
    const data = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(data.detail || data.error || `HTTP ${res.status}`);
    return data;
  }

  async function save() {
    $("problem").hidden = true; $("status").textContent = "Saving…"; $("save").disabled = true;
    try {
      const saved = await call("PATCH", `/api/v1/flows/${flowId}`, payload());
      Object.assign(flow, saved); render();
      $("status").textContent = "Saved " + new Date().toLocaleTimeString();
    } catch (e) {
      $("problem").textContent = humanize(e.message); $("problem").hidden = false; $("status").textContent = "";
    } finally { $("save").disabled = false; }
  }

  function schedulePreview(delay) { clearTimeout(timer); timer = setTimeout(preview, delay === undefined ? 350 : delay); }

  async function preview() {
    const step = flow.steps[focus.step];
    if (!step) { $("preview-sms").hidden = $("preview-email").hidden = true; return; }
    const variant = step.variants[focus.variant] || step.variants[0];
    $("preview-target").textContent = `Step ${focus.step + 1} · ${step.channel.toUpperCase()} · variant ${variant.key}`;
    const discount = Boolean(step.incentive);
    const kind = discount ? step.incentive.kind || "percentage" : null;
    const text = step.channel === "auto" ? variant.sms_body : variant.body;
    try {
      // An auto step shows both parts: the text for mobile shoppers and the email for the rest.
      const [sms, email] = await Promise.all([
        step.channel !== "email" ? call("POST", "/api/v1/templates/preview", { channel: "sms", body: text || " ", discount, discount_kind: kind }) : null,
        emails(step) ? call("POST", "/api/v1/templates/preview", { channel: "email", body: variant.body || " ", subject: variant.subject || null, html: variant.html || null, discount, discount_kind: kind }) : null,
      ]);
      $("preview-error").hidden = true;
      $("preview-sms").hidden = !sms; $("preview-email").hidden = !email;
      if (sms) {
        $("sms-text").textContent = sms.text;
        $("sms-meta").textContent = `${sms.segments} segment${sms.segments === 1 ? "" : "s"} · ${sms.encoding} · ${sms.characters} characters`;
      }
      if (email) {
        $("email-subject").textContent = email.subject || "(no subject)";
        $("email-frame").srcdoc = email.html || "";
      }
    } catch (e) {
      // A preview of the text before the mistake would look current: hide it until the text renders again.
      $("preview-sms").hidden = $("preview-email").hidden = true;
      $("preview-error").textContent = humanize(e.message, focus); $("preview-error").hidden = false;
    }
  }

  $("flow-name").value = flow.name;
  $("flow-holdout").value = Number(flow.holdout_percent);
  $("flow-enabled").value = String(flow.enabled);
  $("flow-sold-out").value = flow.sold_out || "omit";
  $("flow-segment").value = flow.segment_id ? String(flow.segment_id) : "";
  $("save").addEventListener("click", save);
  $("add-step").addEventListener("click", () => {
    const last = flow.steps[flow.steps.length - 1];
    flow.steps.push({ channel: "email", delay_seconds: (last ? last.delay_seconds : 0) + 86400, conditions: {}, incentive: null, variants: [{ key: "a", weight: "1", subject: "Still thinking it over, {{ first_name or 'friend' }}?", body: "Your cart at {{ store_name }} is waiting: {{ magic_link }}" }] });
    render();
  });
  render();
  preview();
})();
