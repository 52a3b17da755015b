// The admin page: the chaos rules with their hit counts, and the journal of the last API
// calls, read with an admin key (kept apart from any owner's key), refreshed every few seconds.

import { adminKey, apiFetch, apiJson } from "./api.js";
import { byId, clock, clockTime, describeFault, h, jobUrl, requireKey } from "./ui.js";

const REFRESH_MS = 2000;
const base = byId("admin").dataset.adminBase;
const banner = byId("admin-error");
const call = (path, options = {}) => apiJson(path, { ...options, base, key: adminKey.get() });
let timer;

const report = requireKey(load, { keys: adminKey, check: (key) => apiJson("/rules", { base, key }) });

async function load() {
  clearTimeout(timer);
  try {
    const [{ rules }, { calls }] = await Promise.all([call("/rules"), call("/journal?limit=200")]);
    showRules(rules);
    showJournal(calls);
    byId("updated").textContent = `Updated ${clock(new Date())}`;
    banner.hidden = true;
  } catch (error) {
    report(error, banner);
    if (error.status === 401) return;
  }
  timer = setTimeout(load, REFRESH_MS);
}

const cell = (text, className) => h("td", { text: String(text ?? "—"), className });

function showRules(rules) {
  byId("rules-body").replaceChildren(
    ...rules.map((rule) =>
      h("tr", { attrs: { "data-rule": rule.id } }, [
        cell(rule.id, "mono"),
        cell(rule.method),
        cell(rule.route, "mono"),
        cell(rule.owner ?? "any"),
        cell(describeFault(rule.action)),
        cell(rule.probability, "num"),
        cell(rule.count === null ? rule.hits : `${rule.hits} of ${rule.count}`, "num hits"),
        cell(rule.matched, "num"),
        cell(rule.seed, "num mono"),
      ]),
    ),
  );
  byId("rules-empty").hidden = rules.length > 0;
}

function showJournal(calls) {
  const rows = [...calls].reverse().map((entry) =>
    h("tr", { attrs: { "data-seq": entry.seq } }, [
      h("td", {}, [h("time", { text: clockTime(entry.time), attrs: { datetime: entry.time, title: entry.time } })]),
      cell(entry.method),
      cell(entry.route, "mono"),
      h("td", { className: "mono" }, entry.job_id ? [h("a", { text: entry.job_id, attrs: { href: jobUrl(entry.job_id) } })] : ["—"]),
      cell(entry.status ?? "dropped", "num status"),
      cell(entry.owner ?? entry.credential),
      cell(entry.idempotency_key, "mono"),
      cell(entry.fault, "fault"),
    ]),
  );
  byId("journal-body").replaceChildren(...rows);
  byId("journal-empty").hidden = calls.length > 0;
}

byId("refresh").addEventListener("click", load);
byId("clear-rules").addEventListener("click", async () => {
  try {
    await apiFetch("/rules", { method: "DELETE", base, key: adminKey.get() });
    await load();
  } catch (error) {
    report(error, banner);
  }
});
