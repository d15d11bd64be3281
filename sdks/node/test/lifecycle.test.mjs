// close(), timeouts, exiting without close(), serverless use, the fetch transport.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, it } from "node:test";

import { FetchTransport, Letter, VERSION } from "@letterapp/node";
import { KEY, ScriptedTransport, recorder, recordingServer, settle } from "./helpers.mjs";

/** A transport request that only ends when its signal aborts. */
const hang = (request) => new Promise((_, reject) => {
  request.signal.addEventListener("abort", () => reject(request.signal.reason), { once: true });
});

function run(script, env) {
  return new Promise((resolve) => {
    const started = performance.now();
    const child = spawn(process.execPath, [fileURLToPath(new URL(script, import.meta.url))], {
      env: { ...process.env, LETTER_API_KEY: KEY, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (c) => { stderr += c; });
    child.on("exit", (code) => resolve({ code, stderr, ms: performance.now() - started }));
  });
}

describe("close()", () => {
  it("with a timeout: aborts the request in flight and reports everything unsettled", async () => {
    const errors = recorder();
    const transport = new ScriptedTransport([hang]);
    const letter = new Letter({ apiKey: KEY, baseUrl: "http://letter.test", transport, onError: errors.onError, flushAt: 1 });
    for (const userId of ["a", "b", "c"]) letter.identify({ userId });
    await settle();
    const started = performance.now();
    assert.equal(await letter.close(50), false);
    assert.ok(performance.now() - started < 1000);
    await settle();
    assert.equal(transport.requests.length, 1, "nothing was sent after giving up");
    const reported = errors.calls.flatMap((c) => c.items.map((i) => [c.error.code, i.user_id])).sort();
    assert.deepEqual(reported, [["client_closed", "a"], ["client_closed", "b"], ["client_closed", "c"]]);
    assert.ok(errors.calls.some((c) => /delivery is unknown/.test(c.error.message)));
  });

  it("its timeout is its own, not flushInterval's", async () => {
    const transport = new ScriptedTransport([async (r) => { await new Promise((res) => setTimeout(res, 300)); return { status: 200, headers: {}, body: "{}" }; }]);
    const letter = new Letter({ apiKey: KEY, baseUrl: "http://letter.test", transport, flushInterval: 0 });
    letter.identify({ userId: "slow" });
    assert.equal(await letter.close(5000), true, "a 300 ms request fits in close(5000)");
  });

  it("without a timeout: waits for every retry to settle", async () => {
    const errors = recorder();
    const transport = new ScriptedTransport([{ status: 503, headers: {}, body: "" }]);
    const letter = new Letter({ apiKey: KEY, baseUrl: "http://letter.test", transport, onError: errors.onError });
    letter.identify({ userId: "u" });
    assert.equal(await letter.close(), true);
    assert.equal(transport.requests.length, 2);
    assert.deepEqual(errors.calls, []);
  });

  it("a request past `timeout` ms is a network error, retried", async () => {
    const errors = recorder();
    const transport = new ScriptedTransport([hang, hang]);
    const letter = new Letter({ apiKey: KEY, baseUrl: "http://letter.test", transport, onError: errors.onError, timeout: 30, maxRetries: 1 });
    letter.identify({ userId: "u" });
    assert.equal(await letter.close(), true);
    assert.equal(transport.requests.length, 2);
    assert.equal(errors.calls[0].error.code, "network_error");
  });
});

describe("process exit", () => {
  it("a script that never closes exits at once (timers are unref'd) and delivers its queue", async () => {
    const server = await recordingServer();
    try {
      // flushInterval 60 s: a ref'd timer would hold the process for a minute.
      const result = await run("fixtures/never-closes.mjs", { LETTER_API_URL: server.url, ITEMS: "120", FLUSH_AT: "1000", FLUSH_INTERVAL: "60000" });
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stderr, "");
      assert.ok(result.ms < 10_000, `took ${result.ms} ms`);
      assert.deepEqual(server.items.map((i) => i.user_id), Array.from({ length: 120 }, (_, i) => `exit_${i}`));
    } finally {
      await server.close();
    }
  });

  it("items queued late in a long-running script go out within flushInterval, then the script exits", async () => {
    const server = await recordingServer();
    try {
      const result = await run("fixtures/never-closes.mjs", { LETTER_API_URL: server.url, ITEMS: "3", FLUSH_INTERVAL: "100", LATER_MS: "400" });
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(server.bodies.map((b) => b.body.batch.length), [3, 1]);
      assert.ok(result.ms < 400 + 100 + 5000, `took ${result.ms} ms`);
    } finally {
      await server.close();
    }
  });

  it("when the server is down, the script still exits after its retries and reports the loss", async () => {
    const server = await recordingServer();
    const url = server.url;
    await server.close();
    const result = await run("fixtures/never-closes.mjs", { LETTER_API_URL: url, ITEMS: "2" });
    assert.equal(result.code, 0);
    assert.match(result.stderr, /^lost 2 network_error: network error: fetch failed/);
  });
});

describe("serverless mode (flushAt: 1 + await flush())", () => {
  it("every call is on the server when the handler returns", async () => {
    const server = await recordingServer();
    const letter = new Letter({ apiKey: KEY, baseUrl: server.url, flushAt: 1 });
    const handler = async (userId) => {
      letter.track({ userId, event: "Checkout Started" });
      await letter.flush();
    };
    try {
      for (let call = 0; call < 3; call++) {
        await handler(`lambda_${call}`);
        assert.equal(server.items.length, call + 1);
        assert.equal(server.items.at(-1).user_id, `lambda_${call}`);
      }
      assert.equal(await letter.close(), true);
      assert.ok(server.bodies.every((b) => b.headers["user-agent"] === `letterapp-node/${VERSION}`));
    } finally {
      await server.close();
    }
  });
});

describe("FetchTransport", () => {
  it("does not follow redirects: a 3xx is an error, not retried", async () => {
    const server = await recordingServer((req, res) => {
      res.writeHead(307, { location: "https://elsewhere.test/v1/batch" });
      res.end();
      return true;
    });
    const errors = recorder();
    const letter = new Letter({ apiKey: KEY, baseUrl: server.url, onError: errors.onError, transport: new FetchTransport() });
    try {
      letter.identify({ userId: "u" });
      await letter.close();
      assert.equal(server.bodies.length, 1);
      assert.equal(errors.calls[0].error.status, 307);
      assert.match(errors.calls[0].error.message, /redirect to https:\/\/elsewhere\.test/);
    } finally {
      await server.close();
    }
  });
});
