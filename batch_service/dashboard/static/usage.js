// A job's CPU and memory over its run: pages of /v1/jobs/{id}/usage followed until the series
// is complete, drawn as two small inline SVG line charts (no library, no network but the API).

import { apiJson } from "./api.js";

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 600;
const HEIGHT = 140;
const PAD = { left: 6, right: 6, top: 10, bottom: 6 };
const POLL_MS = 2000;
const RETRY_MS = 2000;
const MIB = 1024 * 1024;
const PAGE_SIZE = 1000; // the service's default page: a shorter page means we have caught up

function svg(tag, attrs = {}) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  return node;
}

// Draw `values` (with their `times`, epoch ms) into `chart`: a gridline at the peak, the area
// under the line and the line itself. One point draws as a dot.
export function drawChart(chart, times, values) {
  const peak = Math.max(...values, 0) || 1;
  const start = times[0];
  const span = Math.max(times[times.length - 1] - start, 1);
  const x = (t) => PAD.left + ((t - start) / span) * (WIDTH - PAD.left - PAD.right);
  const y = (v) => HEIGHT - PAD.bottom - (v / peak) * (HEIGHT - PAD.top - PAD.bottom);
  const points = values.map((v, i) => `${x(times[i]).toFixed(1)},${y(v).toFixed(1)}`);
  const base = HEIGHT - PAD.bottom;
  chart.replaceChildren(
    svg("line", { class: "chart-grid", x1: PAD.left, x2: WIDTH - PAD.right, y1: y(peak), y2: y(peak) }),
    svg("line", { class: "chart-axis", x1: PAD.left, x2: WIDTH - PAD.right, y1: base, y2: base }),
  );
  if (values.length === 1) {
    chart.append(svg("circle", { class: "chart-dot", cx: x(times[0]), cy: y(values[0]), r: 3 }));
    return;
  }
  const first = points[0].split(",")[0];
  const last = points[points.length - 1].split(",")[0];
  chart.append(
    svg("polygon", { class: "chart-area", points: `${first},${base} ${points.join(" ")} ${last},${base}` }),
    svg("polyline", { class: "chart-line", points: points.join(" ") }),
  );
}

const cores = (v) => `${v.toFixed(2)} cores`;
const mebibytes = (v) => `${Math.round(v / MIB)} MiB`;

// Follow the job's usage with `key` (an API key or the job's logs token) until the service
// says the series is complete. `onPage` hears every page (it carries the job's state and run
// times); `onError` hears a refusal (401, 404), after which following stops.
export async function followUsage(jobPath, key, { onPage = () => {}, onError }) {
  const section = document.getElementById("usage-section");
  const status = document.getElementById("usage-status");
  const empty = document.getElementById("usage-empty");
  const times = [];
  const cpu = [];
  const memory = [];
  let token = null;
  for (;;) {
    let page;
    try {
      const query = token ? `?page_token=${encodeURIComponent(token)}` : "";
      page = await apiJson(`${jobPath}/usage${query}`, { key });
    } catch (error) {
      if (error.status === 401 || error.status === 404) {
        status.textContent = "Stopped";
        onError(error);
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
      continue;
    }
    section.hidden = false;
    onPage(page);
    for (const sample of page.samples) {
      times.push(Date.parse(sample.timestamp));
      cpu.push(sample.cpu_cores);
      memory.push(sample.memory_bytes);
    }
    empty.hidden = times.length > 0;
    if (times.length > 0) {
      drawChart(document.getElementById("cpu-chart"), times, cpu);
      drawChart(document.getElementById("memory-chart"), times, memory);
      document.getElementById("cpu-peak").textContent = `peak ${cores(Math.max(...cpu))}`;
      document.getElementById("memory-peak").textContent = `peak ${mebibytes(Math.max(...memory))}`;
    }
    const count = `${times.length} sample${times.length === 1 ? "" : "s"}, every ${page.interval_seconds} s`;
    token = page.next_page_token;
    if (token === null) {
      status.textContent = `Complete · ${count}`;
      return;
    }
    status.textContent = `Live · ${count}`;
    if (page.samples.length < PAGE_SIZE) await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}
