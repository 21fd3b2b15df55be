/**
 * The dashboard's pages: static HTML whose scripts read the JSON API
 * (dashboard.ts). uPlot comes from /assets, served from node_modules.
 */
import { xml } from '../bench/svg.js';

const STYLE = `
body { font-family: system-ui, sans-serif; margin: 0 24px 40px; color: #222; }
header { display: flex; gap: 24px; align-items: baseline; border-bottom: 1px solid #ddd; margin-bottom: 16px; }
header a { color: #36c; text-decoration: none; }
table { border-collapse: collapse; font-size: 14px; }
th, td { text-align: left; padding: 4px 12px 4px 0; border-bottom: 1px solid #eee; }
.state-running { color: #1a7f37; font-weight: 600; } .state-failed { color: #c00; font-weight: 600; }
.state-stopped { color: #a60; } .state-done { color: #555; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(560px, 1fr)); gap: 16px; }
.card { border: 1px solid #e4e4e4; border-radius: 6px; padding: 8px 12px; }
.card h2 { font-size: 15px; margin: 4px 0 8px; }
pre { font-size: 12px; background: #f7f7f7; padding: 8px; overflow: auto; max-height: 360px; }
.error { color: #c00; }
#sample img { image-rendering: pixelated; width: 366px; border: 1px solid #ddd; }
`;

function layout(title: string, body: string, scripts = ''): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${xml(title)}</title>
<link rel="stylesheet" href="/assets/uPlot.min.css"><style>${STYLE}</style></head>
<body>${body}${scripts}</body></html>
`;
}

const nav = (here: string) =>
  `<header><h1>${xml(here)}</h1><a href="/">runs</a><a href="/bench">bench</a></header>`;

export function notFoundPage(message: string): string {
  return layout('paragen dashboard', `${nav('not found')}<p class="error">${xml(message)}</p>`);
}

export function runsPage(root: string): string {
  return layout(
    `paragen runs in ${root}`,
    `${nav(`runs in ${root}`)}
<table id="runs"><thead><tr><th>run</th><th>model</th><th>strategy</th><th>backend</th><th>steps</th><th>state</th><th>last losses</th><th>samples/s</th></tr></thead><tbody></tbody></table>
<p id="empty" hidden>No run directories here yet.</p>`,
    `<script>
const fmt = (v) => (typeof v === 'number' ? (Math.abs(v) >= 100 ? v.toFixed(0) : v.toPrecision(4)) : '');
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
async function refresh() {
  const runs = await (await fetch('/api/runs')).json();
  document.getElementById('empty').hidden = runs.length > 0;
  document.querySelector('#runs tbody').innerHTML = runs.map((r) => '<tr data-run="' + esc(r.name) + '">' +
    '<td><a href="/runs/' + encodeURIComponent(r.name) + '">' + esc(r.name) + '</a></td><td>' + esc(r.model) + '</td>' +
    '<td>' + esc(r.strategy) + (r.workers ? ' × ' + r.workers : '') + '</td><td>' + esc(r.backend) + '</td>' +
    '<td>' + r.step + (r.totalSteps ? ' / ' + r.totalSteps : '') + '</td>' +
    '<td class="state-' + r.state + '">' + r.state + '</td>' +
    '<td>' + Object.entries(r.losses).map(([k, v]) => esc(k) + ' ' + fmt(v)).join(', ') + '</td>' +
    '<td>' + fmt(r.samplesPerSec) + '</td></tr>').join('');
}
refresh();
setInterval(refresh, 2000);
</script>`,
  );
}

export function runPage(name: string): string {
  return layout(
    `paragen run ${name}`,
    `${nav(name)}
<p id="summary"></p>
<div class="grid">
  <div class="card"><h2>losses by step</h2><div id="loss-chart" data-points="0"></div></div>
  <div class="card"><h2>losses by wall time</h2><div id="time-chart" data-points="0"></div></div>
  <div class="card"><h2>samples/s</h2><div id="rate-chart" data-points="0"></div></div>
  <div class="card" id="sample"><h2>sample grid <span id="sample-step"></span></h2>
    <input id="sample-slider" type="range" min="0" max="0" value="0" style="width: 366px"><br><img id="sample-img" alt="sample grid"></div>
  <div class="card"><h2>placement</h2><div id="placement"></div></div>
  <div class="card"><h2>timeline: checkpoints, warnings, restarts</h2><table id="timeline"><tbody></tbody></table></div>
  <div class="card"><h2>config</h2><pre id="config"></pre></div>
</div>`,
    `<script src="/assets/uPlot.iife.min.js"></script>
<script>
const run = ${JSON.stringify(name).replace(/</g, '\\u003c')};
const api = '/api/runs/' + encodeURIComponent(run);
const COLOURS = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#b07aa1'];
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
let detail;
let names = [];
const charts = {};

function chart(id, xLabel, time, series) {
  const el = document.getElementById(id);
  const opts = {
    width: 540, height: 240,
    scales: { x: { time } },
    axes: [{ label: xLabel }, {}],
    series: [{ label: xLabel }, ...series.map((s, i) => ({ label: s, stroke: COLOURS[i % COLOURS.length], width: 1.5 }))],
  };
  return new uPlot(opts, [[], ...series.map(() => [])], el);
}

function draw() {
  const m = detail.metrics;
  const steps = m.map((r) => r.step);
  const loss = names.map((n) => m.map((r) => (Number.isFinite(r.losses[n]) ? r.losses[n] : null)));
  charts.loss.setData([steps, ...loss]);
  const timed = m.filter((r) => r.time);
  charts.time.setData([timed.map((r) => Date.parse(r.time) / 1000), ...names.map((n) => timed.map((r) => r.losses[n] ?? null))]);
  charts.rate.setData([steps, m.map((r) => r.samplesPerSec ?? null)]);
  document.getElementById('loss-chart').dataset.points = String(steps.length);
  document.getElementById('time-chart').dataset.points = String(timed.length);
  document.getElementById('rate-chart').dataset.points = String(steps.length);
  const last = m[m.length - 1];
  document.getElementById('summary').innerHTML =
    '<b>' + esc(detail.model) + '</b>, ' + esc(detail.strategy) + (detail.workers ? ' × ' + detail.workers : '') + ' on ' + esc(detail.backend) +
    ': step <span id="step">' + (last ? last.step : 0) + '</span>' + (detail.totalSteps ? ' of ' + detail.totalSteps : '') +
    ', <span id="state" class="state-' + detail.state + '">' + detail.state + '</span>' +
    (last && last.samplesPerSec ? ', ' + last.samplesPerSec.toFixed(1) + ' samples/s' : '');
}

function drawSamples(follow) {
  const slider = document.getElementById('sample-slider');
  const n = detail.samples.length;
  const atEnd = Number(slider.value) >= Number(slider.max);
  slider.max = String(Math.max(0, n - 1));
  if (follow && atEnd) slider.value = slider.max;
  const step = detail.samples[Number(slider.value)];
  document.getElementById('sample-step').textContent = step === undefined ? '(none yet)' : 'at step ' + step + ' (' + (Number(slider.value) + 1) + ' of ' + n + ')';
  const img = document.getElementById('sample-img');
  img.hidden = step === undefined;
  if (step !== undefined) img.src = '/runs/' + encodeURIComponent(run) + '/samples/' + step + '.png';
}

function drawTimeline() {
  const rows = [
    ...detail.checkpoints.map((s) => [s, 'checkpoint', 'checkpoints/' + s]),
    ...detail.warnings.map((w) => [w.step, 'warning', w.message]),
    ...detail.restarts.map((r) => [r.step, 'restart', r.actor + ' (restart ' + r.attempt + '): ' + r.cause]),
  ].sort((a, b) => a[0] - b[0]);
  document.querySelector('#timeline tbody').innerHTML = rows.length
    ? rows.map(([s, k, t]) => '<tr><td>' + s + '</td><td>' + k + '</td><td>' + esc(t) + '</td></tr>').join('')
    : '<tr><td>none recorded</td></tr>';
}

async function main() {
  detail = await (await fetch(api)).json();
  names = [...new Set(detail.metrics.flatMap((r) => Object.keys(r.losses)))];
  if (names.length === 0) names = Object.keys(detail.losses);
  charts.loss = chart('loss-chart', 'step', false, names);
  charts.time = chart('time-chart', 'time', true, names);
  charts.rate = chart('rate-chart', 'step', false, ['samples/s']);
  document.getElementById('config').textContent = JSON.stringify(detail.config, null, 2);
  const where = detail.placement
    ? Object.entries(detail.placement).map(([actor, worker]) => actor + ' → worker ' + worker).join(', ')
    : 'not recorded';
  const shape = detail.summary ? detail.summary.strategy + ' strategy on ' + detail.summary.workers + ' worker(s)' : 'strategy ' + detail.strategy;
  document.getElementById('placement').textContent = shape + '; ' + where + (detail.strategy === 'data' ? ' (replica 0; each replica has its own workers)' : '');
  document.getElementById('sample-slider').addEventListener('input', () => drawSamples(false));
  draw();
  drawSamples(true);
  drawTimeline();
  const stream = new EventSource(api + '/stream?offset=' + detail.metricsOffset);
  stream.addEventListener('metric', (e) => {
    const record = JSON.parse(e.data);
    detail.metrics.push(record);
    draw();
  });
  stream.addEventListener('sample', (e) => {
    detail.samples.push(JSON.parse(e.data).step);
    drawSamples(true);
  });
  stream.addEventListener('state', async (e) => {
    detail = { ...(await (await fetch(api)).json()), metrics: detail.metrics };
    draw();
    drawTimeline();
  });
  document.body.dataset.live = 'true';
}
main();
</script>`,
  );
}

export function benchPage(root: string, charts: readonly { name: string; svg: string }[]): string {
  const body = charts.length
    ? charts.map((c) => `<div class="card bench" data-bench="${xml(c.name)}"><h2>${xml(c.name)}</h2>${c.svg.replace(/^<\?xml[^>]*>\n?/, '')}</div>`).join('\n')
    : `<p>No bench.json in ${xml(root)} or its folders: run <code>paragen bench --out ${xml(root)}/bench</code>.</p>`;
  return layout(`paragen bench in ${root}`, `${nav(`bench in ${root}`)}${body}`);
}
