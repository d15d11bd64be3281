// Test doubles shared by the unit tests: a scriptable transport, a recorder
// of onError calls, and a real HTTP server on loopback.
import { createServer } from "node:http";

export const KEY = "lt_live_" + "ab".repeat(24);

/** A promise with its resolve/reject exposed. */
export function deferred() {
  let resolve, reject;
  const promise = new Promise((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

export function answer(status, body = {}, headers = {}) {
  return { status, headers, body: typeof body === "string" ? body : JSON.stringify(body) };
}

export function accepted(request) {
  return answer(200, { accepted: request.json.batch.length, duplicates: 0, rejected: [] });
}

/**
 * A Transport whose answers follow a script: each request takes the next
 * entry (a response, an Error to throw, or a function of the request);
 * once the script is used up, every batch is accepted.
 */
export class ScriptedTransport {
  constructor(script = []) {
    this.script = [...script];
    this.requests = [];
  }

  async send(request) {
    const seen = { ...request, json: JSON.parse(request.body) };
    this.requests.push(seen);
    const next = this.script.shift();
    const outcome = typeof next === "function" ? await next(seen) : next;
    if (outcome instanceof Error) throw outcome;
    return outcome ?? accepted(seen);
  }

  /** Every item sent, in order, over all requests. */
  get items() {
    return this.requests.flatMap((r) => r.json.batch);
  }
}

/** An onError that records its calls. */
export function recorder() {
  const calls = [];
  const onError = (error, items) => {
    calls.push({ error, items });
  };
  return { calls, onError };
}

/** Resolve after the pending timers, immediates and I/O callbacks ran. */
export function settle(turns = 5) {
  let p = Promise.resolve();
  for (let i = 0; i < turns; i++) p = p.then(() => new Promise((r) => setImmediate(r)));
  return p;
}

/**
 * A real HTTP server on 127.0.0.1 recording /v1/batch bodies; `handler`
 * may answer differently (default: accept everything).
 */
export async function recordingServer(handler) {
  const bodies = [];
  const server = createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
      bodies.push({ headers: req.headers, url: req.url, body });
      if (handler && handler(req, res, body) !== undefined) return;
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ accepted: body.batch.length, duplicates: 0, rejected: [] }));
    });
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    bodies,
    get items() {
      return bodies.flatMap((b) => b.body.batch);
    },
    close: () => new Promise((r) => { server.closeAllConnections(); server.close(r); }),
  };
}
