// rxrego studio: the form's answers as a FHIR QuestionnaireResponse, enableWhen, and the
// decision OPA gives for them, refreshed as the author types. No framework, no build step.
"use strict";

(function () {
  const main = document.querySelector("main[data-policy]");
  const picker = document.getElementById("policy");
  if (picker) {
    picker.addEventListener("change", () => {
      window.location.href = "/?policy=" + encodeURIComponent(picker.value);
    });
  }
  if (!main) return;
  const policy = main.dataset.policy;
  const form = document.getElementById("request-form");
  const $ = (id) => document.getElementById(id);

  // --- answers -------------------------------------------------------------------------------

  // The value[x] of one answer field, or null when it is not answered.
  function answerOf(item) {
    const input = item.querySelector(":scope > .answer");
    if (!input || input.value === "") return null;
    const v = input.value;
    switch (item.dataset.type) {
      case "boolean": return { valueBoolean: v === "true" };
      case "choice":
      case "open-choice": {
        const option = input.selectedOptions[0];
        return { valueCoding: { system: option.dataset.system, code: v, display: option.textContent } };
      }
      case "date": return { valueDate: v };
      case "decimal": return Number.isFinite(Number(v)) ? { valueDecimal: Number(v) } : { valueString: v };
      case "integer": return Number.isInteger(Number(v)) ? { valueInteger: Number(v) } : { valueString: v };
      default: return { valueString: v };
    }
  }

  // The answers under `scope` (the form or one group entry) by linkId, for enableWhen.
  function answersByLink() {
    const out = {};
    for (const item of form.querySelectorAll(".item[data-link]:not(fieldset)")) {
      const a = answerOf(item);
      if (a !== null && !(item.dataset.link in out)) out[item.dataset.link] = a;
    }
    return out;
  }

  function matches(cond, answer) {
    if (cond.operator === "exists") return (answer !== undefined) === cond.answerBoolean;
    if (answer === undefined) return cond.operator === "!=";
    let want, have;
    if ("answerCoding" in cond) { want = cond.answerCoding.code; have = answer.valueCoding && answer.valueCoding.code; }
    else if ("answerBoolean" in cond) { want = cond.answerBoolean; have = answer.valueBoolean; }
    else { const k = Object.keys(cond).find((x) => x.startsWith("answer")); want = cond[k]; have = Object.values(answer)[0]; }
    if (cond.operator === "=") return have === want;
    if (cond.operator === "!=") return have !== want;
    return false;
  }

  // FHIR enableWhen: an item is shown (and answered) only when its conditions hold; an item
  // under a disabled item is disabled too. Re-evaluated until nothing changes, since
  // disabling an item can disable the items that depend on it.
  function applyEnableWhen() {
    const items = [...form.querySelectorAll("[data-enable-when]")];
    for (let round = 0; round < 10; round++) {
      const answers = answersByLink();
      for (const item of form.querySelectorAll(".disabled .item[data-link]:not(fieldset)")) delete answers[item.dataset.link];
      let changed = false;
      for (const item of items) {
        const conds = JSON.parse(item.dataset.enableWhen);
        const results = conds.map((c) => matches(c, answers[c.question]));
        const on = item.dataset.enableBehavior === "any" ? results.some(Boolean) : results.every(Boolean);
        if (item.classList.contains("disabled") === on) { item.classList.toggle("disabled", !on); changed = true; }
      }
      if (!changed) break;
    }
  }

  // Answers of the items under `root`, as QuestionnaireResponse items; disabled ones omitted.
  function responseItems(root) {
    const out = [];
    for (const item of root.querySelectorAll(":scope > .item, :scope > fieldset.item")) {
      if (item.classList.contains("disabled")) continue;
      const link = item.dataset.link;
      if (!link) continue;
      if (item.dataset.type === "group") {
        for (const entry of item.querySelectorAll(":scope > .instances > .instance")) {
          const inner = responseItems(entry);
          if (inner.length) out.push({ linkId: link, item: inner });
        }
      } else {
        const a = answerOf(item);
        if (a !== null) out.push({ linkId: link, answer: [a] });
      }
    }
    return out;
  }

  function formState() {
    return {
      policy: policy,
      request_type: $("f-request_type").value,
      date_of_service: $("f-date_of_service").value,
      response: {
        resourceType: "QuestionnaireResponse",
        questionnaire: "https://rxrego.dev/fhir/Questionnaire/" + policy,
        status: "in-progress",
        item: responseItems(form),
      },
    };
  }

  // Items the chosen request type does not use are dimmed (still sent when answered).
  function markSets() {
    const type = $("f-request_type").value;
    for (const item of form.querySelectorAll("[data-sets]")) {
      item.classList.toggle("other-set", !item.dataset.sets.split(" ").includes(type));
    }
  }

  // --- the decision ------------------------------------------------------------------------------

  function esc(s) {
    return String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  }

  function summaryHtml(d) {
    const parts = [];
    parts.push(`<p class="reason">${esc(d.reason || "")}${d.requirements ? " · " + esc(d.requirements) : ""}</p>`);
    if (d.policy) parts.push(`<p class="policy-line">${esc(d.policy.number)} ${esc(d.policy.title)}, version effective ${esc(d.policy.effective_date)}</p>`);
    if (d.approval) parts.push(`<p class="approval">Approved ${esc(d.approval.start)} to ${esc(d.approval.end)} (${esc(d.approval.duration_months)} months)</p>`);
    if (d.unmet && d.unmet.length) {
      parts.push("<h3>Unmet, in the policy's words</h3><ul class=\"unmet\">" + d.unmet.map((u) => `<li data-criterion="${esc(u.id)}">${esc(u.text)}</li>`).join("") + "</ul>");
    }
    if (d.missing && d.missing.length) {
      parts.push("<h3>Missing information</h3><ul class=\"missing\">" + d.missing.map((x) => `<li data-criterion="${esc(x.id)}">${esc(x.text)} <code>${esc((x.fields || []).join(", "))}</code></li>`).join("") + "</ul>");
    }
    if (d.errors && d.errors.length) {
      parts.push("<h3>The request was not decided</h3><ul class=\"errors\">" + d.errors.map((e) => `<li>${esc(e.field || "(request)")}: ${esc(e.message)}</li>`).join("") + "</ul>");
    }
    if (d.outcome === "no_policy") parts.push(`<p>No policy decided this request${d.in_force_from ? "; the policy applies from " + esc(d.in_force_from) : ""}.</p>`);
    return parts.join("");
  }

  let sent = 0, shown = 0, timer = null;

  async function post(url, body) {
    const resp = await fetch(url, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
    const doc = await resp.json().catch(() => ({ error: `the studio answered ${resp.status}` }));
    if (!resp.ok) throw new Error(doc.error || `the studio answered ${resp.status}`);
    return doc;
  }

  async function decide() {
    applyEnableWhen();
    markSets();
    const mine = ++sent;
    main.dataset.busy = "true";
    try {
      const view = await post("/api/decide", formState());
      if (mine < shown) return; // an older answer arriving late
      shown = mine;
      const d = view.decision;
      const out = $("outcome");
      out.textContent = String(d.outcome || "?").toUpperCase();
      out.dataset.outcome = d.outcome || "";
      out.className = "outcome o-" + (d.outcome || "none");
      $("summary").innerHTML = summaryHtml(d);
      $("tree").innerHTML = view.tree_html; // built by the server, every spec string escaped
      $("request-json").textContent = JSON.stringify(view.request, null, 2);
      $("error").textContent = "";
    } catch (err) {
      if (mine >= shown) { shown = mine; $("error").textContent = err.message; }
    } finally {
      if (mine === sent) main.dataset.busy = "false";
    }
  }

  function soon() {
    clearTimeout(timer);
    timer = setTimeout(decide, 150);
  }

  form.addEventListener("input", soon);
  form.addEventListener("change", soon);

  // Repeating groups: add and remove entries (the first entry is the pattern, emptied).
  form.addEventListener("click", (ev) => {
    const btn = ev.target;
    if (btn.matches("button.add")) {
      const group = btn.closest("fieldset");
      const instances = group.querySelector(":scope > .instances");
      const copy = instances.querySelector(":scope > .instance").cloneNode(true);
      copy.querySelectorAll(".answer").forEach((el) => { el.value = el.defaultValue !== undefined && el.tagName === "INPUT" ? el.defaultValue : ""; });
      copy.querySelectorAll(":scope .instances > .instance + .instance").forEach((el) => el.remove());
      // ids must stay unique: suffix the copies' ids and labels
      const n = instances.children.length + 1;
      copy.querySelectorAll("[id]").forEach((el) => { el.id = el.id + "-" + n; });
      copy.querySelectorAll("label[for]").forEach((el) => { el.htmlFor = el.htmlFor + "-" + n; });
      instances.appendChild(copy);
      soon();
    } else if (btn.matches("button.remove")) {
      const instances = btn.closest(".instances");
      const entry = btn.closest(".instance");
      if (instances.children.length > 1) entry.remove();
      else entry.querySelectorAll(".answer").forEach((el) => { el.value = ""; });
      soon();
    }
  });

  $("save-case").addEventListener("click", async () => {
    const status = $("save-status");
    status.className = "";
    status.textContent = "saving…";
    try {
      const body = Object.assign(formState(), { name: $("case-name").value.trim(), proves: $("case-proves").value.trim() });
      const saved = await post("/api/cases", body);
      status.className = "ok";
      status.textContent = `saved ${saved.name} to ${saved.file}, expecting ${saved.expect.outcome}`;
    } catch (err) {
      status.className = "error";
      status.textContent = err.message;
    }
  });

  decide();
})();
