// Construction, arguments, and the wire format of what is sent.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { describe, it } from "node:test";

import { Letter, LetterError, VERSION } from "@letterapp/node";
import { KEY, ScriptedTransport, recorder } from "./helpers.mjs";

const UUID7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function client(options = {}) {
  const transport = new ScriptedTransport();
  const letter = new Letter({ apiKey: KEY, baseUrl: "http://letter.test", transport, ...options });
  return { letter, transport };
}

describe("constructor", () => {
  it("throws LetterError on a missing or malformed apiKey", () => {
    for (const apiKey of [undefined, "", "oops", "lt_live_" + "g".repeat(48), "lt_live_" + "a".repeat(47)]) {
      assert.throws(() => new Letter({ apiKey }), (err) => {
        assert.ok(err instanceof LetterError);
        assert.equal(err.status, null);
        assert.equal(err.code, "unauthorized");
        assert.equal(err.body.error.code, "unauthorized");
        return true;
      });
    }
  });

  it("refuses invalid options with bad_request", () => {
    const bad = [{ flushAt: 0 }, { flushAt: 1.5 }, { flushInterval: -1 }, { maxRetries: -1 }, { timeout: 0 },
      { maxQueueSize: 0 }, { baseUrl: "ftp://x" }, { baseUrl: "not a url" }, { baseUrl: "http://x/?a=1" },
      { onError: 42 }, { skipTriggers: "yes" }, { transport: {} }];
    for (const options of bad) {
      assert.throws(() => new Letter({ apiKey: KEY, ...options }), (err) => err instanceof LetterError && err.code === "bad_request", JSON.stringify(options));
    }
  });

  it("takes baseUrl, else LETTER_API_URL, else https://api.letter.app", () => {
    const saved = process.env.LETTER_API_URL;
    try {
      delete process.env.LETTER_API_URL;
      assert.equal(new Letter({ apiKey: KEY }).baseUrl, "https://api.letter.app");
      process.env.LETTER_API_URL = "http://127.0.0.1:8300/";
      assert.equal(new Letter({ apiKey: KEY }).baseUrl, "http://127.0.0.1:8300");
      assert.equal(new Letter({ apiKey: KEY, baseUrl: "http://other:1" }).baseUrl, "http://other:1");
    } finally {
      if (saved === undefined) delete process.env.LETTER_API_URL;
      else process.env.LETTER_API_URL = saved;
    }
  });
});

describe("calls", () => {
  it("send snake_case items to /v1/batch with the key and User-Agent", async () => {
    const { letter, transport } = client();
    const at = new Date("2024-03-04T05:06:07.089Z");
    letter.identify({ userId: "u_1", email: "ada@example.com", traits: { plan: "pro", nested: { a: 1 } }, timezone: "Europe/Paris", timestamp: at });
    letter.group({ userId: "u_1", accountId: 7, name: "Acme", traits: { mrr: 49 }, timestamp: "2024-01-01T00:00:00Z" });
    letter.track({ userId: 42, event: "Signed In", properties: { path: "/" }, messageId: "m-1" });
    assert.equal(await letter.flush(), true);
    assert.equal(transport.requests.length, 1);
    const [request] = transport.requests;
    assert.equal(request.url, "http://letter.test/v1/batch");
    assert.equal(request.headers.authorization, `Bearer ${KEY}`);
    assert.equal(request.headers["user-agent"], `letterapp-node/${VERSION}`);
    assert.equal(request.headers["content-type"], "application/json");
    assert.equal(request.json.skip_triggers, false);
    const [identify, group, track] = request.json.batch;
    assert.match(identify.message_id, UUID7);
    assert.deepEqual({ ...identify, message_id: "" }, {
      type: "identify", user_id: "u_1", message_id: "", timestamp: "2024-03-04T05:06:07.089Z",
      email: "ada@example.com", traits: { plan: "pro", nested: { a: 1 } }, timezone: "Europe/Paris",
    });
    assert.deepEqual({ ...group, message_id: "" }, {
      type: "group", user_id: "u_1", message_id: "", timestamp: "2024-01-01T00:00:00Z",
      account_id: "7", name: "Acme", traits: { mrr: 49 },
    });
    assert.equal(track.message_id, "m-1");
    assert.equal(track.user_id, "42");
    assert.deepEqual([track.type, track.event, track.properties], ["track", "Signed In", { path: "/" }]);
    await letter.close();
  });

  it("stamp the time of the call when no timestamp is given", async () => {
    const { letter, transport } = client();
    const before = Date.now();
    letter.track({ userId: "u", event: "E" });
    const after = Date.now();
    await letter.close();
    const sent = Date.parse(transport.items[0].timestamp);
    assert.ok(sent >= before && sent <= after, transport.items[0].timestamp);
  });

  it("generate time-ordered message ids (UUID v7 of the call's time), unique, kept once generated", async (t) => {
    t.mock.timers.enable({ apis: ["Date"], now: Date.UTC(2026, 0, 2, 3, 4, 5, 678) });
    const { letter, transport } = client({ flushAt: 10_000 });
    for (let i = 0; i < 5000; i++) {
      letter.track({ userId: "u", event: "E" });
      if (i % 1000 === 999) t.mock.timers.tick(1);
    }
    t.mock.timers.reset();
    await letter.close();
    const ids = transport.items.map((i) => i.message_id);
    assert.ok(ids.every((id) => UUID7.test(id)));
    assert.equal(new Set(ids).size, ids.length);
    const millis = ids.map((id) => parseInt(id.replaceAll("-", "").slice(0, 12), 16));
    assert.equal(millis[0], Date.UTC(2026, 0, 2, 3, 4, 5, 678));
    assert.equal(millis[4999], Date.UTC(2026, 0, 2, 3, 4, 5, 682));
    assert.deepEqual(millis, [...millis].sort((a, b) => a - b));
  });

  it("copy the top-level traits, so later changes are not sent", async () => {
    const { letter, transport } = client();
    const traits = { plan: "free" };
    letter.identify({ userId: "u", traits });
    traits.plan = "changed";
    await letter.close();
    assert.deepEqual(transport.items[0].traits, { plan: "free" });
  });

  it("throw LetterError on invalid arguments, synchronously", () => {
    const { letter } = client();
    const bad = [
      () => letter.identify({ userId: "" }),
      () => letter.identify({ userId: {} }),
      () => letter.identify({ userId: "u", email: 5 }),
      () => letter.identify({ userId: "u", traits: [1] }),
      () => letter.identify({ userId: "u", timestamp: new Date("nope") }),
      () => letter.identify({ userId: "u", timestamp: 5 }),
      () => letter.identify({ userId: "u", messageId: "" }),
      () => letter.identify({ userId: "u", skipTriggers: "no" }),
      () => letter.identify(undefined),
      () => letter.group({ userId: "u" }),
      () => letter.track({ userId: "u" }),
      () => letter.track({ userId: "u", event: "E", properties: "x" }),
    ];
    for (const call of bad) assert.throws(call, (err) => err instanceof LetterError && err.code === "bad_request", call.toString());
    return letter.close();
  });

  it("skipTriggers per client and per call; a batch never mixes the two", async () => {
    const { letter, transport } = client({ skipTriggers: true });
    letter.identify({ userId: "a" });
    letter.identify({ userId: "b" });
    letter.track({ userId: "a", event: "Live", skipTriggers: false });
    letter.identify({ userId: "c" });
    await letter.close();
    assert.deepEqual(transport.requests.map((r) => [r.json.skip_triggers, r.json.batch.map((i) => i.user_id)]),
      [[true, ["a", "b"]], [false, ["a"]], [true, ["c"]]]);
  });

  it("throw after close(); closing twice gives the first result", async () => {
    const { letter } = client();
    assert.equal(await letter.close(), true);
    assert.equal(await letter.close(), true);
    for (const call of [() => letter.identify({ userId: "u" }), () => letter.group({ userId: "u", accountId: "a" }), () => letter.track({ userId: "u", event: "E" })]) {
      assert.throws(call, (err) => err instanceof LetterError && err.code === "client_closed");
    }
    await assert.rejects(letter.flush(), (err) => err.code === "client_closed");
  });

  it("report rejected items of an accepted batch to onError, one by one", async () => {
    const { calls, onError } = recorder();
    const transport = new ScriptedTransport([(r) => ({ status: 200, headers: {}, body: JSON.stringify({
      accepted: 1, duplicates: 0, rejected: [{ index: 1, code: "bad_request", message: "email: invalid" }] }) })]);
    const letter = new Letter({ apiKey: KEY, baseUrl: "http://letter.test", transport, onError });
    letter.identify({ userId: "good" });
    letter.identify({ userId: "bad", email: "nope" });
    await letter.close();
    assert.equal(calls.length, 1);
    assert.equal(calls[0].error.status, 200);
    assert.equal(calls[0].error.code, "bad_request");
    assert.equal(calls[0].error.message, "email: invalid");
    assert.deepEqual(calls[0].items.map((i) => i.user_id), ["bad"]);
  });

  it("a throwing onError is contained", async () => {
    const transport = new ScriptedTransport([{ status: 400, headers: {}, body: "{}" }]);
    const letter = new Letter({ apiKey: KEY, baseUrl: "http://letter.test", transport, onError: () => { throw new Error("boom"); } });
    letter.identify({ userId: "u" });
    const written = [];
    const write = process.stderr.write;
    process.stderr.write = (chunk) => { written.push(String(chunk)); return true; };
    try {
      assert.equal(await letter.close(), true);
    } finally {
      process.stderr.write = write;
    }
    assert.match(written.join(""), /onError threw: Error: boom/);
  });
});

describe("package", () => {
  it("VERSION matches package.json", () => {
    const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
    assert.equal(VERSION, pkg.version);
    assert.deepEqual(pkg.dependencies ?? {}, {});
  });

  it("require() gets the CommonJS build with the same API", () => {
    const require = createRequire(import.meta.url);
    const cjs = require("@letterapp/node");
    assert.equal(typeof cjs.Letter, "function");
    assert.equal(cjs.VERSION, VERSION);
    assert.ok(require.resolve("@letterapp/node").endsWith("/dist/cjs/index.js"));
    assert.throws(() => new cjs.Letter({ apiKey: "nope" }), (err) => err instanceof cjs.LetterError);
  });
});
