// One job: its facts, spec, outputs or error, a cancel button, and its log followed live
// over the SSE endpoint (read with fetch, reconnecting with Last-Event-ID) until it ends.
//
// Opened from a job's log link (`#logs_token=…`, as the Flyte connector builds it) the page
// is read-only: the job's log and resource use, read with that job's logs token, and nothing
// that needs the owner's key. Browsers never send a URL's fragment to a server, so the token
// reaches the service only in the Authorization header of those reads.

import { apiFetch, apiJson, storedKey } from "./api.js";
import { readEvents } from "./sse.js";
import { followUsage } from "./usage.js";
import {
  TERMINAL,
  byId,
  clockTime,
  describeFault,
  formatDuration,
  h,
  requireKey,
  setBadge,
  timeElement,
} from "./ui.js";

const POLL_MS = 2000;
const RETRY_MS = 2000;
const MAX_LOG_LINES = 2000; // kept in the page; a long log shows its tail
const LEVELS = new Set(["INFO", "WARNING", "ERROR"]);

const jobId = byId("job").dataset.jobId;
const path = `/jobs/${encodeURIComponent(jobId)}`;
const banner = byId("job-error");
const cancelButton = byId("cancel");
const logs = byId("logs");
const logStatus = byId("log-status");

let job = null;
let pollTimer = null;
let nextSeq = 0;
let following = false;
let logEnded = false;
let pending = [];

const linkToken = new URLSearchParams(window.location.hash.slice(1)).get("logs_token");
const credential = () => linkToken ?? storedKey();
const report = linkToken ? startReadOnly() : requireKey(refreshJob);

// The log link's view: no sign-in, no cancel, no spec or outputs (the token cannot read them);
// state and run times come with the usage pages, the end of the run with the log's `end`.
function startReadOnly() {
  byId("content").hidden = false;
  byId("job-body").hidden = false;
  byId("read-only-note").hidden = false;
  byId("outputs-section").hidden = true;
  byId("spec-section").hidden = true;
  byId("job-name").textContent = jobId;
  byId("job-id").textContent = jobId;
  byId("job-created").textContent = "—";
  byId("job-labels").textContent = "—";
  const reportHere = (error) => {
    banner.textContent =
      error.status === 401 ? "This link's token does not open this job (it is for another job)." : error.message;
    banner.hidden = false;
  };
  following = true;
  followLogs(0);
  followUsage(path, linkToken, { onPage: showRunFacts, onError: reportHere });
  return reportHere;
}

function showRunFacts(page) {
  job = { ...job, state: page.state, started_at: page.started_at, finished_at: page.finished_at };
  setBadge(byId("job-state"), page.state);
  byId("job-started").replaceChildren(timeElement(page.started_at));
  byId("job-finished").replaceChildren(timeElement(page.finished_at));
  byId("job-duration").textContent = formatDuration(job);
}

// Fetch and show the job; poll again while it can still change, and stop on a 404 or 401.
async function refreshJob() {
  clearTimeout(pollTimer);
  try {
    render(await apiJson(path));
    banner.hidden = true;
  } catch (error) {
    if (error.status === 404) {
      byId("job-body").hidden = true;
      banner.textContent = "Job not found. It does not exist, or it belongs to another API key.";
      banner.hidden = false;
      return;
    }
    report(error, banner);
    if (error.status === 401) return;
  }
  if (!job || !TERMINAL.has(job.state)) pollTimer = setTimeout(refreshJob, POLL_MS);
}

function render(current) {
  job = current;
  document.title = `${job.name} · Batch service`;
  byId("job-body").hidden = false;
  byId("job-name").textContent = job.name;
  setBadge(byId("job-state"), job.state);
  byId("job-id").textContent = job.id;
  byId("job-created").replaceChildren(timeElement(job.created_at));
  byId("job-started").replaceChildren(timeElement(job.started_at));
  byId("job-finished").replaceChildren(timeElement(job.finished_at));
  byId("job-duration").textContent = formatDuration(job);
  showLineCount();
  const labels = Object.entries(job.labels).map(([k, v]) => h("span", { className: "chip", text: `${k}: ${v}` }));
  byId("job-labels").replaceChildren(...(labels.length ? labels : [h("span", { className: "muted", text: "none" })]));
  byId("error-section").hidden = job.error === null;
  byId("job-failure").textContent = job.error ?? "";
  byId("job-outputs").textContent =
    job.outputs === null ? outputsPlaceholder(job.state) : JSON.stringify(job.outputs, null, 2);
  byId("job-spec").textContent = JSON.stringify(job.spec, null, 2);
  showScenario(job.spec.scenario);
  cancelButton.hidden = TERMINAL.has(job.state);
  if (!following) {
    following = true; // the first time the job shows, whenever that is (a 503 may delay it)
    followLogs(job.log_line_count);
    followUsage(path, credential(), { onError: (error) => report(error, banner) });
  }
}

// A test's scenario for the job (docs/testing.md), one sentence per thing it changes. The
// page's own polling counts as GETs of the job, as any client's does.
function showScenario(scenario) {
  byId("scenario-section").hidden = !scenario;
  if (!scenario) return;
  const lines = [];
  if (scenario.queued_seconds) lines.push(`Stays QUEUED at least ${scenario.queued_seconds} s`);
  if (scenario.running_after_polls !== null) lines.push(`Starts after ${scenario.running_after_polls} answered GETs`);
  if (scenario.finished_after_polls !== null) lines.push(`Ends after ${scenario.finished_after_polls} answered GETs`);
  if (scenario.outcome) lines.push(`Ends ${scenario.outcome}${scenario.message ? `: ${scenario.message}` : ""}`);
  for (const [kind, fault] of Object.entries(scenario.faults ?? {})) {
    if (!fault) continue;
    const last = fault.from_call + fault.times - 1;
    const calls = last === fault.from_call ? `call ${fault.from_call}` : `calls ${fault.from_call}–${last}`;
    lines.push(`Fault on ${kind} ${calls}: ${describeFault(fault)}`);
  }
  byId("job-scenario").replaceChildren(...lines.map((text) => h("li", { text })));
}

function outputsPlaceholder(state) {
  return TERMINAL.has(state) ? `No outputs: the job ended ${state}.` : "Outputs appear when the job succeeds.";
}

cancelButton.addEventListener("click", async () => {
  cancelButton.disabled = true;
  try {
    render(await apiJson(`${path}/cancel`, { method: "POST" }));
  } catch (error) {
    report(error, banner);
  } finally {
    cancelButton.disabled = false;
  }
});

function setLogStatus(phase, text) {
  logStatus.dataset.phase = phase;
  logStatus.textContent = text;
}

// Follow the log until the service sends `end`; after a dropped connection, resume from
// the last line seen (Last-Event-ID), so no line is shown twice or missed.
async function followLogs(lineCount) {
  if (lineCount > MAX_LOG_LINES) {
    nextSeq = lineCount - MAX_LOG_LINES;
    showSkipped();
  }
  logs.dataset.empty = "Waiting for log lines…";
  while (!logEnded) {
    setLogStatus("live", "Following live");
    try {
      const headers = { Accept: "text/event-stream" };
      if (nextSeq > 0) headers["Last-Event-ID"] = String(nextSeq - 1);
      const response = await apiFetch(`${path}/logs?follow=true`, { headers, key: credential() });
      await readEvents(response, onLogEvent);
    } catch (error) {
      if (error.status === 401 || error.status === 404) {
        report(error, banner);
        setLogStatus("stopped", "Stopped");
        return;
      }
    }
    if (!logEnded) {
      setLogStatus("retrying", "Connection lost, reconnecting…");
      await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
    }
  }
}

function onLogEvent(event) {
  const data = JSON.parse(event.data);
  if (event.type === "line") {
    nextSeq = data.seq + 1; // at once, not at the next paint: a reconnect resumes from here
    pending.push(data);
    if (pending.length === 1) setTimeout(flushLines, 0);
  } else if (event.type === "end") {
    logEnded = true;
    flushLines();
    logs.dataset.empty = "This job wrote no log lines.";
    setLogStatus("ended", `Ended ${data.state} · ${data.log_line_count} lines`);
    if (linkToken) showEnd(data);
    else refreshJob();
  }
}

function showEnd(end) {
  setBadge(byId("job-state"), end.state);
  byId("error-section").hidden = end.error === null;
  byId("job-failure").textContent = end.error ?? "";
}

// Append what arrived in one go, keep only the newest lines, and stay pinned to the bottom
// unless the reader scrolled up to look at something.
function flushLines() {
  if (pending.length === 0) return;
  const pinned = logs.scrollTop + logs.clientHeight >= logs.scrollHeight - 8;
  logs.append(...pending.map(lineNode));
  pending = [];
  let dropped = false;
  while (logs.childElementCount > MAX_LOG_LINES) {
    logs.firstElementChild.remove();
    dropped = true;
  }
  if (dropped) showSkipped();
  if (pinned) logs.scrollTop = logs.scrollHeight;
  showLineCount();
}

// The stream runs ahead of the job's polled count; show whichever is further along.
function showLineCount() {
  byId("job-lines").textContent = String(Math.max(job?.log_line_count ?? 0, nextSeq));
}

function showSkipped() {
  const note = byId("log-skipped");
  note.textContent =
    `Showing the last ${MAX_LOG_LINES} lines. Page through all of them with ` +
    `GET /v1/jobs/${jobId}/logs.`;
  note.hidden = false;
}

function lineNode(line) {
  const level = LEVELS.has(line.level) ? line.level : "INFO";
  return h("div", { className: `log-line level-${level.toLowerCase()}`, attrs: { "data-seq": line.seq } }, [
    h("span", { className: "log-seq", text: String(line.seq) }),
    h("span", { className: "log-time", text: clockTime(line.timestamp), attrs: { title: line.timestamp } }),
    h("span", { className: "log-level", text: line.level }),
    h("span", { className: "log-message", text: line.message }),
  ]);
}
