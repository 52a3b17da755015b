// What both pages share: safe DOM building, state badges, time formatting, and the
// sign-in gate that keeps the page's content hidden until this tab has a working key.

import { apiJson, ownerKey } from "./api.js";

export const TERMINAL = new Set(document.body.dataset.terminalStates.split(" "));
const uiBase = document.body.dataset.uiBase;

// Build an element. Text always goes in through textContent, so data is never markup.
export function h(tag, { className, text, attrs = {} } = {}, children = []) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

export const byId = (id) => document.getElementById(id);

export function setBadge(node, state) {
  node.className = "badge";
  node.dataset.state = state;
  node.textContent = state;
}

export function stateBadge(state) {
  const node = h("span");
  setBadge(node, state);
  return node;
}

// An injected fault (a rule's action, or a scenario's fault on a job's calls) in words.
export function describeFault(fault) {
  const parts = [];
  if (fault.delay_seconds) parts.push(`delay ${fault.delay_seconds} s`);
  if (fault.status !== null) {
    const retry = fault.retry_after_seconds === null ? "" : ` (Retry-After ${fault.retry_after_seconds})`;
    parts.push(`${fault.status}${retry}`);
  }
  if (fault.drop) parts.push("drop the connection");
  return parts.join(", then ");
}

export const jobUrl = (id) => `${uiBase}/jobs/${encodeURIComponent(id)}`;

const pad = (n) => String(n).padStart(2, "0");

// RFC 3339 from the API → local "YYYY-MM-DD HH:MM:SS"; the UTC original goes in a tooltip.
export function formatTime(iso) {
  if (!iso) return "—";
  const t = new Date(iso);
  const date = `${t.getFullYear()}-${pad(t.getMonth() + 1)}-${pad(t.getDate())}`;
  return `${date} ${pad(t.getHours())}:${pad(t.getMinutes())}:${pad(t.getSeconds())}`;
}

export const clock = (t) => `${pad(t.getHours())}:${pad(t.getMinutes())}:${pad(t.getSeconds())}`;

export function clockTime(iso) {
  const t = new Date(iso);
  return `${clock(t)}.${String(t.getMilliseconds()).padStart(3, "0")}`;
}

export function timeElement(iso) {
  return iso ? h("time", { text: formatTime(iso), attrs: { datetime: iso, title: iso } }) : h("span", { text: "—" });
}

// Run time: start to finish, or to now while running; "—" for a job that never started.
export function formatDuration(job, now = Date.now()) {
  if (!job.started_at) return "—";
  const end = job.finished_at ? Date.parse(job.finished_at) : now;
  const seconds = Math.max(0, (end - Date.parse(job.started_at)) / 1000);
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${pad(Math.floor(seconds % 60))} s`;
  return `${Math.floor(minutes / 60)} h ${pad(minutes % 60)} min`;
}

// Show the sign-in form until the tab has a key the service accepts, then call `start`.
// Returns `report(error, banner)`, which sends the user back to sign in on a 401.
// `keys` is where the key is kept, `check` an API call the key must pass (the admin page
// passes its own of both).
export function requireKey(start, { keys = ownerKey, check = (key) => apiJson("/jobs?limit=1", { key }) } = {}) {
  const signIn = byId("sign-in");
  const content = byId("content");
  const session = byId("session");
  const form = byId("sign-in-form");
  const input = byId("api-key");
  const formError = byId("sign-in-error");
  let started = false;

  const enter = () => {
    signIn.hidden = true;
    content.hidden = false;
    session.hidden = false;
    if (started) {
      window.location.reload(); // a re-entered key: start over rather than patch up timers
      return;
    }
    started = true;
    start();
  };
  const ask = (message = "") => {
    content.hidden = true;
    session.hidden = true;
    signIn.hidden = false;
    formError.textContent = message;
    formError.hidden = !message;
    input.focus();
  };

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const key = input.value.trim();
    if (!key) return;
    const button = form.querySelector("button");
    button.disabled = true;
    try {
      await check(key);
      keys.set(key);
      input.value = "";
      enter();
    } catch (error) {
      ask(error.status === 401 ? "The service does not accept this key." : error.message);
    } finally {
      button.disabled = false;
    }
  });
  byId("sign-out").addEventListener("click", () => {
    keys.forget();
    window.location.reload(); // also clears every job the page was showing
  });

  if (keys.get()) enter();
  else ask();

  return (error, banner) => {
    if (error.status === 401) {
      keys.forget();
      ask("The service no longer accepts this key. Enter it again.");
      return;
    }
    banner.textContent = error.message;
    banner.hidden = false;
  };
}
