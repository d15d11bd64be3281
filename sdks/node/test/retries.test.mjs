// The retry schedule (with mocked timers), Retry-After, and what is not retried.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { Letter } from "@letterapp/node";
import { KEY, ScriptedTransport, answer, recorder, settle } from "./helpers.mjs";

const unavailable = () => answer(503, { error: { code: "unavailable", message: "try later" } });
const limited = (headers, extra = {}) => answer(429, { error: { code: "rate_limited", message: "slow down", ...extra } }, headers);

function client(script, options = {}) {
  const transport = new ScriptedTransport(script);
  const errors = recorder();
  const letter = new Letter({ apiKey: KEY, baseUrl: "http://letter.test", transport, onError: errors.onError, flushAt: 1, ...options });
  return { letter, transport, errors };
}

/** Advance mocked time by `ms`, letting promises and immediates run. */
async function advance(t, ms) {
  t.mock.timers.tick(ms);
  await settle();
}

/** Requests seen after each of the waits: the retry schedule, observed. */
async function schedule(t, transport, waits) {
  for (const wait of waits) {
    const before = transport.requests.length;
    await advance(t, wait - 1);
    assert.equal(transport.requests.length, before, `retried before ${wait} ms`);
    await advance(t, 1);
    assert.equal(transport.requests.length, before + 1, `not retried after ${wait} ms`);
  }
}

describe("retries", () => {
  it("back off 250 ms × 2^attempt on 5xx and network errors, resending the same batch", async (t) => {
    t.mock.timers.enable({ apis: ["setTimeout"] });
    t.mock.method(Math, "random", () => 0);
    const { letter, transport, errors } = client([unavailable(), new Error("socket hang up"), answer(502, "Bad Gateway")]);
    letter.identify({ userId: "u" });
    await settle();
    assert.equal(transport.requests.length, 1);
    await schedule(t, transport, [250, 500, 1000]);
    assert.equal(new Set(transport.requests.map((r) => r.body)).size, 1, "every attempt carries the same body");
    t.mock.timers.reset();
    assert.equal(await letter.close(), true);
    assert.deepEqual(errors.calls, []);
  });

  it("add up to 25 % jitter", async (t) => {
    t.mock.timers.enable({ apis: ["setTimeout"] });
    t.mock.method(Math, "random", () => 0.999);
    const { letter, transport } = client([unavailable(), unavailable()]);
    letter.identify({ userId: "u" });
    await settle();
    await schedule(t, transport, [Math.ceil(250 * 1.24975), Math.ceil(500 * 1.24975)]);
    t.mock.timers.reset();
    await letter.close();
  });

  it("wait Retry-After seconds on a 429, capped at 60 s; HTTP dates and the body's retryAfter too", async (t) => {
    t.mock.timers.enable({ apis: ["setTimeout", "Date"], now: 0 });
    t.mock.method(Math, "random", () => 0);
    // The third 429 comes 2 s + 60 s after the start: its date asks for 3 s more.
    const date = new Date(62_000 + 3000).toUTCString();
    const { letter, transport, errors } = client([
      limited({ "Retry-After": "2" }),
      limited({ "retry-after": "3600" }),
      limited({ "Retry-After": date }),
      limited({}, { retryAfter: 1.5 }),
      limited({}),
    ], { maxRetries: 5 });
    letter.identify({ userId: "u" });
    await settle();
    await schedule(t, transport, [2000, 60_000, 3000, 1500, 16 * 250]);
    t.mock.timers.reset();
    assert.equal(await letter.close(), true);
    assert.deepEqual(errors.calls, []);
  });

  it("give up after maxRetries and hand the items to onError with the last answer", async (t) => {
    t.mock.timers.enable({ apis: ["setTimeout"] });
    t.mock.method(Math, "random", () => 0);
    const { letter, transport, errors } = client([unavailable(), unavailable(), unavailable()], { maxRetries: 2 });
    letter.identify({ userId: "lost" });
    await settle();
    await schedule(t, transport, [250, 500]);
    await advance(t, 10_000);
    assert.equal(transport.requests.length, 3);
    assert.equal(errors.calls.length, 1);
    const [{ error, items }] = errors.calls;
    assert.deepEqual([error.status, error.code, error.message], [503, "unavailable", "try later"]);
    assert.deepEqual(error.body, { error: { code: "unavailable", message: "try later" } });
    assert.deepEqual(items.map((i) => i.user_id), ["lost"]);
    assert.equal(items[0].message_id, transport.requests[0].json.batch[0].message_id);
    t.mock.timers.reset();
    await letter.close();
  });

  it("never retry other 4xx answers", async () => {
    for (const [status, code] of [[400, "bad_request"], [401, "unauthorized"], [413, "payload_too_large"]]) {
      const { letter, transport, errors } = client([answer(status, { error: { code, message: "no" } })]);
      letter.identify({ userId: "u" });
      await letter.close();
      assert.equal(transport.requests.length, 1, String(status));
      assert.deepEqual([errors.calls[0].error.status, errors.calls[0].error.code], [status, code]);
    }
  });

  it("keep working after a failed batch", async () => {
    const { letter, transport, errors } = client([answer(400, { error: { code: "bad_request", message: "no" } })]);
    letter.identify({ userId: "bad" });
    await letter.flush();
    letter.identify({ userId: "good" });
    await letter.close();
    assert.deepEqual(transport.requests.map((r) => r.json.batch[0].user_id), ["bad", "good"]);
    assert.equal(errors.calls.length, 1);
  });

  it("report an answer without the API's error shape by its status", async () => {
    const { letter, errors } = client([answer(418, "I'm a teapot")], { maxRetries: 0 });
    letter.identify({ userId: "u" });
    await letter.close();
    assert.deepEqual([errors.calls[0].error.code, errors.calls[0].error.status], ["http_error", 418]);
    assert.match(errors.calls[0].error.message, /HTTP 418: I'm a teapot/);
  });
});
