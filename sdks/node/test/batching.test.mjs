// Batching by count, interval and bytes; the bounded queue; flush().
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { Letter } from "@letterapp/node";
import { KEY, ScriptedTransport, accepted, deferred, recorder, settle } from "./helpers.mjs";

function client(options = {}, script = []) {
  const transport = new ScriptedTransport(script);
  const errors = recorder();
  const letter = new Letter({ apiKey: KEY, baseUrl: "http://letter.test", transport, onError: errors.onError, ...options });
  return { letter, transport, errors };
}

describe("batching", () => {
  it("sends a batch every flushAt items, in call order, on a later turn", async () => {
    const { letter, transport } = client({ flushAt: 3, flushInterval: 60_000 });
    for (let i = 0; i < 7; i++) letter.identify({ userId: `u${i}` });
    assert.equal(transport.requests.length, 0, "nothing is sent on the caller's turn");
    await settle();
    assert.deepEqual(transport.requests.map((r) => r.json.batch.map((i) => i.user_id)), [["u0", "u1", "u2"], ["u3", "u4", "u5"]]);
    await letter.close();
    assert.deepEqual(transport.requests.at(-1).json.batch.map((i) => i.user_id), ["u6"]);
  });

  it("sends a partial batch after flushInterval", async (t) => {
    t.mock.timers.enable({ apis: ["setTimeout"] });
    const { letter, transport } = client({ flushAt: 50, flushInterval: 100 });
    letter.track({ userId: "u", event: "E" });
    await settle();
    t.mock.timers.tick(99);
    await settle();
    assert.equal(transport.requests.length, 0);
    t.mock.timers.tick(1);
    await settle();
    assert.equal(transport.requests.length, 1);
    t.mock.timers.reset();
    await letter.close();
  });

  it("keeps a batch under 475 KB, and sends a message over 32 KB to onError", async () => {
    const { letter, transport, errors } = client({ flushAt: 100 });
    const big = "x".repeat(20_000); // ~20 KB a message: 24 fit in 475 KB, not 25
    for (let i = 0; i < 30; i++) letter.identify({ userId: `u${i}`, traits: { big } });
    letter.identify({ userId: "huge", traits: { big: "é".repeat(17_000) } }); // 34 KB in UTF-8
    await letter.close();
    const sizes = transport.requests.map((r) => Buffer.byteLength(r.body));
    assert.ok(sizes.every((s) => s <= 475 * 1024), String(sizes));
    assert.deepEqual(transport.requests.map((r) => r.json.batch.length), [24, 6]);
    assert.ok(sizes[0] + 20_000 > 475 * 1024, "the first batch had room for one more");
    assert.deepEqual(transport.items.map((i) => i.user_id), Array.from({ length: 30 }, (_, i) => `u${i}`));
    assert.equal(errors.calls.length, 1);
    assert.equal(errors.calls[0].error.code, "payload_too_large");
    assert.deepEqual(errors.calls[0].items.map((i) => i.user_id), ["huge"]);
  });

  it("hands a message that cannot be encoded to onError and sends the rest", async () => {
    const { letter, transport, errors } = client();
    letter.identify({ userId: "a" });
    letter.identify({ userId: "b", traits: { n: 10n } });
    letter.identify({ userId: "c" });
    await letter.close();
    assert.deepEqual(transport.items.map((i) => i.user_id), ["a", "c"]);
    assert.equal(errors.calls[0].error.code, "bad_request");
  });

  it("a full queue calls onError on the caller's turn and never throws", async () => {
    const { letter, transport, errors } = client({ maxQueueSize: 5, flushAt: 100, flushInterval: 60_000 });
    for (let i = 0; i < 8; i++) letter.identify({ userId: `u${i}` });
    assert.equal(errors.calls.length, 3);
    assert.ok(errors.calls.every((c) => c.error.code === "queue_full" && c.error.status === null));
    assert.deepEqual(errors.calls.map((c) => c.items[0].user_id), ["u5", "u6", "u7"]);
    await letter.close();
    assert.deepEqual(transport.items.map((i) => i.user_id), ["u0", "u1", "u2", "u3", "u4"]);
  });
});

describe("flush()", () => {
  it("waits for batches already in flight", async () => {
    const gate = deferred();
    const { letter, transport } = client({ flushAt: 1 }, [async (r) => { await gate.promise; return accepted(r); }]);
    letter.identify({ userId: "in-flight" });
    await settle();
    assert.equal(transport.requests.length, 1, "the batch is in flight");
    let flushed = false;
    const flushing = letter.flush().then((v) => { flushed = v; });
    await settle();
    assert.equal(flushed, false, "flush() resolved while its batch was still in flight");
    gate.resolve();
    await flushing;
    assert.equal(flushed, true);
    await letter.close();
  });

  it("covers everything queued before the call, not what comes after", async () => {
    const gates = [deferred(), deferred()];
    const { letter } = client({ flushAt: 1 }, gates.map((g) => async (r) => { await g.promise; return accepted(r); }));
    letter.identify({ userId: "first" });
    const first = letter.flush();
    letter.identify({ userId: "second" });
    const second = letter.flush();
    let firstDone = false, secondDone = false;
    first.then(() => { firstDone = true; });
    second.then(() => { secondDone = true; });
    gates[0].resolve();
    await first;
    await settle();
    assert.equal(firstDone, true);
    assert.equal(secondDone, false);
    gates[1].resolve();
    assert.equal(await second, true);
    await letter.close();
  });

  it("resolves false after its timeout and still delivers later", async () => {
    const gate = deferred();
    const { letter, transport } = client({}, [async (r) => { await gate.promise; return accepted(r); }]);
    letter.identify({ userId: "slow" });
    assert.equal(await letter.flush(20), false);
    gate.resolve();
    assert.equal(await letter.flush(), true);
    assert.equal(transport.items.length, 1);
    await letter.close();
  });

  it("resolves at once when nothing is queued", async () => {
    const { letter, transport } = client();
    assert.equal(await letter.flush(), true);
    assert.equal(transport.requests.length, 0);
    await letter.close();
  });
});
