#!/usr/bin/env node
// The Node SDK (@letterapp/node) measured: what a call costs on the caller's
// turn (against @segment/analytics-node in the same run), the SDK's own
// ceiling with a transport that answers at once, and N identify calls
// delivered to a real `letter serve` on loopback, with what bounds that rate:
// the same items sent as bare fetch() calls of prebuilt batches to another
// fresh server are the control (the server's pace with no SDK at all).
//
//   (cd sdks/node && npm ci && npm run build)
//   node bench/node_sdk.mjs                       # 1 M identify, SQLite
//   node bench/node_sdk.mjs --n 200000 --flush-at 100 --workers 1
//
// The server runs from the repository's .venv (./dev test creates it), on a
// fresh SQLite file in a temporary data dir, rate limits out of the way.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import os from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const SDK = join(ROOT, "sdks", "node");
const { values: args } = parseArgs({
  options: {
    n: { type: "string", default: "1000000" },
    "flush-at": { type: "string", default: "500" },
    page: { type: "string", default: "10000" },
    workers: { type: "string", default: "1" },
    round: { type: "string", default: "5000" },
    "enqueue-calls": { type: "string", default: "1000000" },
    "skip-delivery": { type: "boolean", default: false },
    "skip-control": { type: "boolean", default: false },
    python: { type: "string", default: join(ROOT, ".venv", "bin", "python") },
  },
});
const N = Number(args.n);
const FLUSH_AT = Number(args["flush-at"]);
const PAGE = Number(args.page);

if (!existsSync(join(SDK, "dist", "esm", "index.js"))) {
  console.error("build the SDK first: (cd sdks/node && npm ci && npm run build)");
  process.exit(2);
}
const { Letter, FetchTransport } = await import(pathToFileURL(join(SDK, "dist", "esm", "index.js")).href);
const { Analytics } = createRequire(join(SDK, "package.json"))("@segment/analytics-node");

const KEY = "lt_live_" + "ab".repeat(24);
const ANSWER = { status: 200, headers: {}, body: `{"accepted":0,"duplicates":0,"rejected":[]}` };
const accepted = async () => ANSWER;

function machine() {
  const cpus = os.cpus();
  return `${cpus.length} cores, ${cpus[0]?.model ?? "unknown CPU"}, ${os.type()} ${os.release()}, Node ${process.versions.node}, load average ${os.loadavg().map((l) => l.toFixed(1)).join(" ")}`;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (x, digits = 0) => x.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** ns per call of `call(i)` on the caller's turn, per round of `round` calls; drained between rounds. */
async function perCall(call, drain, total, round) {
  const samples = [];
  for (let done = 0; done < total; done += round) {
    const start = process.hrtime.bigint();
    for (let i = done; i < done + round; i++) call(i);
    samples.push(Number(process.hrtime.bigint() - start) / round);
    await drain();
  }
  return samples;
}

const traitsOf = (i) => ({ plan: i % 3 ? "free" : "pro", seats: i % 7, name: `User ${i}` });

async function enqueueCost() {
  const total = Number(args["enqueue-calls"]);
  const round = Number(args.round);
  const letter = new Letter({ apiKey: KEY, baseUrl: "http://127.0.0.1:9", transport: { send: accepted }, flushAt: 500, maxQueueSize: round });
  const segment = new Analytics({ writeKey: "bench", host: "http://127.0.0.1:9", maxEventsInBatch: 500, flushInterval: 60_000, httpClient: async () => ({ status: 200, statusText: "OK" }) });
  // Warm both up, then alternate so that machine noise hits both alike.
  await perCall((i) => letter.identify({ userId: `w_${i}`, email: `w${i}@example.com`, traits: traitsOf(i) }), () => letter.flush(), 50_000, round);
  await perCall((i) => segment.identify({ userId: `w_${i}`, traits: { email: `w${i}@example.com`, ...traitsOf(i) } }), () => segment.flush(), 50_000, round);
  const ours = [], theirs = [];
  for (let part = 0; part < 10; part++) {
    ours.push(...await perCall((i) => letter.identify({ userId: `u_${i}`, email: `u${i}@example.com`, traits: traitsOf(i) }), () => letter.flush(), total / 10, round));
    theirs.push(...await perCall((i) => segment.identify({ userId: `u_${i}`, traits: { email: `u${i}@example.com`, ...traitsOf(i) } }), () => segment.flush(), total / 10, round));
  }
  await letter.close();
  await segment.closeAndFlush();
  const a = median(ours), b = median(theirs);
  console.log(`enqueue (identify, caller's turn, median of ${ours.length} rounds of ${round} calls):`);
  console.log(`  @letterapp/node          ${fmt(a)} ns/call  (target <= 2,000 ns)`);
  console.log(`  @segment/analytics-node  ${fmt(b)} ns/call`);
  console.log(`  ratio                    ${fmt(a / b, 3)}  (target <= 0.5)`);
}

/** Identify calls through the SDK with a transport that answers at once: the SDK's own ceiling. */
async function ceiling(n) {
  const letter = new Letter({ apiKey: KEY, baseUrl: "http://127.0.0.1:9", transport: { send: accepted }, flushAt: FLUSH_AT, maxQueueSize: PAGE });
  const start = performance.now();
  for (let i = 0; i < n; i += PAGE) {
    for (let j = i; j < Math.min(n, i + PAGE); j++) letter.identify({ userId: `bench_${j}`, email: `bench${j}@example.com`, traits: traitsOf(j) });
    await letter.flush();
  }
  await letter.close();
  return n / ((performance.now() - start) / 1000);
}

function freePort() {
  return new Promise((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** CPU seconds of a process and its children (Linux /proc). */
function cpuSeconds(pid) {
  const tick = 100;
  let total = 0;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(entry) === pid || Number(fields[1]) === pid) total += (Number(fields[11]) + Number(fields[12])) / tick;
    } catch {
      // the process ended while we looked
    }
  }
  return total;
}

async function startServer() {
  const dataDir = mkdtempSync(join(os.tmpdir(), "letter-bench-node-"));
  const port = await freePort();
  const env = { ...process.env, LETTER_DATA_DIR: dataDir, LETTER_INGEST_RATE_LIMIT: "100000000/minute", LETTER_RATE_LIMIT: "100000000/minute", LETTER_PUBLIC_URL: `http://127.0.0.1:${port}` };
  delete env.LETTER_DATABASE_URL;
  const boot = spawnSync(args.python, ["-m", "letter.cli.main", "admin", "bootstrap", "--email", "bench@example.com", "--workspace", "Bench", "--json"], { env, encoding: "utf8" });
  if (boot.status !== 0) throw new Error(`bootstrap failed (is ${args.python} Letter's virtualenv?): ${boot.stderr}`);
  const token = JSON.parse(boot.stdout).token;
  const proc = spawn(args.python, ["-m", "letter.cli.main", "serve", "--port", String(port), "--no-worker", "--workers", args.workers], { env, stdio: ["ignore", "ignore", "inherit"] });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${base}/healthz`)).ok) break;
    } catch {
      if (i > 300) throw new Error("letter serve did not start");
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const api = async (path, body) => {
    const res = await fetch(base + path, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: JSON.stringify(body) });
    if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
    return res.json();
  };
  const { slug } = await api("/v1/projects", { name: "Bench" });
  const { key } = await api(`/v1/projects/${slug}/keys`, { name: "bench" });
  const stop = () => new Promise((resolve) => {
    proc.once("exit", () => { rmSync(dataDir, { recursive: true, force: true }); resolve(); });
    proc.kill("SIGTERM");
  });
  return { base, key, proc, dataDir, stop };
}

/** Identify calls through the SDK, page by page, to a fresh server; returns the figures. */
async function throughSdk(server) {
  const fetchTransport = new FetchTransport();
  const stats = { waiting: 0, requests: 0, failed: 0 };
  const transport = {
    async send(request) {
      const start = performance.now();
      try {
        return await fetchTransport.send(request);
      } finally {
        stats.waiting += performance.now() - start;
        stats.requests++;
      }
    },
  };
  const letter = new Letter({ apiKey: server.key, baseUrl: server.base, flushAt: FLUSH_AT, maxQueueSize: Math.max(10_000, PAGE), transport, onError: (e, items) => { stats.failed += items.length; } });
  for (let i = 0; i < N; i += PAGE) {
    for (let j = i; j < Math.min(N, i + PAGE); j++) letter.identify({ userId: `bench_${j}`, email: `bench${j}@example.com`, traits: traitsOf(j) });
    await letter.flush();
  }
  await letter.close();
  return stats;
}

/**
 * The control: the same items as bare fetch() calls of prebuilt batches, one
 * at a time. Its message ids grow like the SDK's (version 7 UUIDs, time
 * first): random ids would cost the server more and blur the comparison.
 */
async function bare(server) {
  const stats = { waiting: 0, requests: 0, failed: 0 };
  const headers = { authorization: `Bearer ${server.key}`, "content-type": "application/json" };
  const now = new Date().toISOString();
  for (let i = 0; i < N; i += FLUSH_AT) {
    const batch = [];
    for (let j = i; j < Math.min(N, i + FLUSH_AT); j++) {
      batch.push({ type: "identify", user_id: `bench_${j}`, email: `bench${j}@example.com`, traits: traitsOf(j), timestamp: now, message_id: `bare-${String(j).padStart(9, "0")}` });
    }
    const body = JSON.stringify({ batch, skip_triggers: false });
    const start = performance.now();
    const res = await fetch(`${server.base}/v1/batch`, { method: "POST", headers, body });
    const answer = await res.json();
    stats.waiting += performance.now() - start;
    stats.requests++;
    if (!res.ok) stats.failed += batch.length;
    else stats.failed += answer.rejected.length;
  }
  return stats;
}

async function delivery(label, send) {
  const server = await startServer();
  try {
    const cpu0 = process.cpuUsage(), server0 = cpuSeconds(server.proc.pid);
    const start = performance.now();
    const stats = await send(server);
    const wall = (performance.now() - start) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const clientCpu = (cpu.user + cpu.system) / 1e6;
    const serverCpu = cpuSeconds(server.proc.pid) - server0;
    const count = spawnSync(args.python, ["-c", "import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute('SELECT count(*) FROM contacts').fetchone()[0])", join(server.dataDir, "letter.db")], { encoding: "utf8" });
    console.log(`${label}: ${fmt(N)} identify to a fresh letter serve (SQLite, ${args.workers} process(es)) over loopback, ${fmt(FLUSH_AT)} a request, one request at a time`);
    console.log(`  ${fmt(wall, 1)} s -> ${fmt(N / wall)} identify/s; ${fmt(stats.requests)} requests, ${stats.failed} items failed; contacts in the database: ${count.stdout.trim()}`);
    console.log(`  client CPU ${fmt(clientCpu, 1)} s (${fmt((100 * clientCpu) / wall)} % of one core); waiting for answers ${fmt((100 * stats.waiting) / 1000 / wall)} % of the wall time`);
    console.log(`  server CPU ${fmt(serverCpu, 1)} s (${fmt(serverCpu / wall, 2)} cores busy on average); load average now ${os.loadavg().map((l) => l.toFixed(1)).join(" ")}`);
    return wall;
  } finally {
    await server.stop();
  }
}

console.log(`machine: ${machine()}`);
await enqueueCost();
const sdkOnly = await ceiling(Math.min(N, 1_000_000));
console.log(`SDK ceiling (transport answering at once, flushAt ${FLUSH_AT}): ${fmt(sdkOnly)} identify/s`);
if (!args["skip-delivery"]) {
  const sdk = await delivery("delivery through @letterapp/node (flush() every " + fmt(PAGE) + " calls)", throughSdk);
  console.log(`  target: 1 M identify delivered in <= 60 s`);
  if (!args["skip-control"]) {
    const control = await delivery("control: bare fetch() of prebuilt batches", bare);
    console.log(`SDK delivery time / bare fetch time: ${fmt(sdk / control, 2)} (1.00 = the SDK adds nothing; the server sets the pace)`);
  }
}
