// The jobs table: this key's jobs, newest first, one state or all, paged with the API's
// next_page_token, and refreshed every few seconds so state changes show up by themselves.

import { apiJson } from "./api.js";
import { byId, clock, formatDuration, h, jobUrl, requireKey, stateBadge, timeElement } from "./ui.js";

const REFRESH_MS = 3000;

const filters = byId("filters");
const state = filters.dataset.state;
const pageSize = filters.dataset.pageSize;
const body = byId("jobs-body");
const empty = byId("jobs-empty");
const banner = byId("jobs-error");
const newer = byId("newer");
const older = byId("older");

// Keyset paging only walks forward, so keep the token that led to each page seen so far.
const pageTokens = [null];
let nextToken = null;
let loads = 0;
let timer = null;

const report = requireKey(load);

async function load() {
  clearTimeout(timer);
  const ticket = ++loads;
  const params = new URLSearchParams({ limit: pageSize });
  if (state) params.set("state", state);
  const token = pageTokens.at(-1);
  if (token) params.set("page_token", token);
  try {
    const page = await apiJson(`/jobs?${params}`);
    if (ticket !== loads) return; // a newer load (paging, refresh) superseded this one
    render(page);
    banner.hidden = true;
  } catch (error) {
    if (ticket !== loads) return;
    report(error, banner);
    if (error.status === 401) return;
  }
  timer = setTimeout(load, REFRESH_MS);
}

function render(page) {
  body.replaceChildren(...page.jobs.map(row));
  empty.textContent = state ? `No ${state} jobs.` : "No jobs yet. Submit one with POST /v1/jobs.";
  empty.hidden = page.jobs.length > 0;
  nextToken = page.next_page_token;
  older.disabled = !nextToken;
  newer.disabled = pageTokens.length === 1;
  byId("page-label").textContent = `Page ${pageTokens.length}`;
  byId("updated").textContent = `Updated ${clock(new Date())}`;
}

function row(job) {
  const name = h("a", { className: "job-link", text: job.name, attrs: { href: jobUrl(job.id) } });
  return h("tr", { attrs: { "data-job-id": job.id } }, [
    h("td", { className: "name-cell" }, [name, h("div", { className: "sub mono", text: job.id })]),
    h("td", {}, [stateBadge(job.state)]),
    h("td", {}, [timeElement(job.created_at)]),
    h("td", {}, [timeElement(job.started_at)]),
    h("td", {}, [timeElement(job.finished_at)]),
    h("td", { className: "num", text: formatDuration(job) }),
  ]);
}

older.addEventListener("click", () => {
  if (!nextToken) return;
  pageTokens.push(nextToken);
  load();
});
newer.addEventListener("click", () => {
  if (pageTokens.length === 1) return;
  pageTokens.pop();
  load();
});
byId("refresh").addEventListener("click", load);
