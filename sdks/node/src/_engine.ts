/**
 * The queue of one client and the loop that turns it into `/v1/batch` requests.
 *
 * The caller's turn only appends a record to the queue ({@link Engine.push});
 * message ids, JSON encoding, size checks, HTTP, retries and error reports
 * happen in {@link Engine.run}, which starts on a later turn and never has
 * more than one request in flight, so items reach the server in call order
 * (an `identify` lands before the `group` that links its contact).
 *
 * Progress is counted, not tracked per item: `enqueued` items were accepted,
 * `taken` left the queue, `settled` were delivered or reported to `onError`.
 * Because the queue is FIFO and batches settle in order, "everything queued
 * before flush()" is simply "settled >= enqueued at the time of the call".
 */
import { LetterError } from "./_errors.js";
import {
  ENVELOPE_BYTES,
  MAX_BATCH_BYTES,
  MAX_MESSAGE_BYTES,
  batchBody,
  encode,
  toWire,
  type Queued,
  type WireItem,
} from "./_messages.js";
import { report, type OnError } from "./_report.js";
import { backoffDelay, httpError, parseJson, retryAfter } from "./_retry.js";
import type { Transport, TransportResponse } from "./_transport.js";

export interface EngineOptions {
  url: string;
  headers: Readonly<Record<string, string>>;
  transport: Transport;
  timeout: number;
  flushAt: number;
  flushInterval: number;
  maxRetries: number;
  maxQueueSize: number;
  onError: OnError;
}

interface Waiter {
  target: number;
  resolve: () => void;
}

/** Compact the queue array once this many taken slots sit at its front. */
const COMPACT_AT = 1024;

/** Engines with work left: at `beforeExit` they get to finish it. */
const busy = new Set<Engine>();
let exitHookInstalled = false;

function onBeforeExit(): void {
  for (const engine of busy) engine.finishBeforeExit();
}

export class Engine {
  private queue: Queued[] = [];
  private head = 0;
  private enqueued = 0;
  private taken = 0;
  private settled = 0;
  /** Items before this index are due now, even as a partial batch. */
  private flushTarget = 0;
  private waiters: Waiter[] = [];
  private running = false;
  private stopped = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private sleeping: { timer: ReturnType<typeof setTimeout>; wake: () => void } | undefined;
  private requestTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly aborter = new AbortController();

  constructor(private readonly options: EngineOptions) {
    if (!exitHookInstalled) {
      exitHookInstalled = true;
      process.on("beforeExit", onBeforeExit);
    }
  }

  /** Items waiting in the queue (not counting a batch in flight). */
  get pending(): number {
    return this.queue.length - this.head;
  }

  /** The caller's fast path: O(1), no encoding, no I/O. */
  push(item: Queued): void {
    const pending = this.queue.length - this.head;
    if (pending >= this.options.maxQueueSize) {
      this.queueFull(item);
      return;
    }
    this.queue.push(item);
    this.enqueued++;
    if (pending + 1 >= this.options.flushAt) this.kick();
    else if (this.timer === undefined) this.arm();
  }

  /** Resolves `true` once everything queued so far settled; `false` after `timeout` ms. */
  flush(timeout?: number): Promise<boolean> {
    const target = this.enqueued;
    if (this.settled >= target) return Promise.resolve(true);
    if (target > this.flushTarget) this.flushTarget = target;
    this.kick();
    const done = new Promise<boolean>((resolve) => {
      this.waiters.push({ target, resolve: () => resolve(true) });
    });
    this.holdOpen();
    return timeout === undefined ? done : this.within(done, timeout);
  }

  /**
   * Flush, then stop. After `timeout` ms the request in flight is aborted and
   * every item not yet settled goes to `onError` (`client_closed`); resolves
   * `false` in that case.
   */
  async shutdown(timeout?: number): Promise<boolean> {
    const flushed = await this.flush(timeout);
    if (!flushed) {
      this.stopped = true;
      this.aborter.abort();
      this.sleeping?.wake();
      this.abandon("close() timed out before these items were sent");
    }
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.running) busy.delete(this);
    return flushed;
  }

  /** `beforeExit`: the event loop is empty but work is left; keep it going. */
  finishBeforeExit(): void {
    if (this.stopped) return;
    if (this.sleeping !== undefined) {
      this.sleeping.timer.ref?.();
      return;
    }
    if (this.pending > 0) {
      this.flushTarget = this.enqueued;
      this.kick();
    }
  }

  /**
   * The client's timers are unref'd so that it never keeps a process alive on
   * its own; but while a flush() or close() is awaited, a retry wait or a
   * request timeout is work someone waits for, so it must hold the process.
   */
  private holdOpen(): void {
    this.sleeping?.timer.ref?.();
    this.requestTimer?.ref?.();
  }

  private startTimer(ms: number, fire: () => void): ReturnType<typeof setTimeout> {
    const timer = setTimeout(fire, ms);
    if (this.waiters.length === 0) timer.unref?.();
    return timer;
  }

  private within(done: Promise<boolean>, timeout: number): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      // Ref'd (unlike the client's own timers): someone awaits this answer.
      const timer = setTimeout(() => resolve(false), timeout);
      void done.then((value) => {
        clearTimeout(timer);
        resolve(value);
      });
    });
  }

  private arm(): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flushTarget = this.enqueued;
      this.kick();
    }, this.options.flushInterval);
    // Unref'd: a script that never closes the client may still exit; the
    // beforeExit hook delivers what is left instead of this timer.
    this.timer.unref?.();
    busy.add(this);
  }

  private kick(): void {
    if (this.running || this.stopped) return;
    this.running = true;
    busy.add(this);
    setImmediate(() => void this.run());
  }

  private async run(): Promise<void> {
    try {
      while (!this.stopped) {
        const pending = this.queue.length - this.head;
        if (pending === 0) break;
        if (pending < this.options.flushAt && this.taken >= this.flushTarget) break;
        await this.sendBatch();
      }
    } catch (thrown) {
      // A bug must never silence delivery for good: report it and carry on.
      report(this.options.onError, new LetterError(`internal error: ${String(thrown)}`, { code: "internal_error" }), []);
    } finally {
      this.running = false;
      if (this.stopped || this.pending === 0) {
        if (this.timer === undefined) busy.delete(this);
      } else if (this.timer === undefined) {
        this.arm();
      }
    }
  }

  private take(): void {
    this.head++;
    this.taken++;
    if (this.head >= COMPACT_AT && this.head * 2 >= this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
  }

  /** One batch: up to flushAt items, 475 KB, and one value of skipTriggers. */
  private async sendBatch(): Promise<void> {
    const { flushAt, onError } = this.options;
    const wires: WireItem[] = [];
    const payloads: string[] = [];
    const skipTriggers = this.queue[this.head]!.skipTriggers;
    let size = ENVELOPE_BYTES - 1; // each item adds its length + a comma, but the first
    let count = 0;
    while (payloads.length < flushAt && this.head < this.queue.length) {
      const item = this.queue[this.head]!;
      if (item.skipTriggers !== skipTriggers) break;
      let wire: WireItem | undefined;
      let payload: string;
      try {
        wire = toWire(item);
        payload = encode(wire);
      } catch (cause) {
        this.take();
        count++;
        const error = new LetterError(`message could not be encoded as JSON: ${String(cause)}`, { code: "bad_request", cause });
        report(onError, error, wire === undefined ? [] : [wire]);
        continue;
      }
      const bytes = Buffer.byteLength(payload);
      if (bytes > MAX_MESSAGE_BYTES) {
        this.take();
        count++;
        const error = new LetterError(`message is ${bytes} bytes when encoded; the limit is ${MAX_MESSAGE_BYTES} bytes`, { code: "payload_too_large" });
        report(onError, error, [wire]);
        continue;
      }
      if (size + bytes + 1 > MAX_BATCH_BYTES) break;
      this.take();
      count++;
      wires.push(wire);
      payloads.push(payload);
      size += bytes + 1;
    }
    if (payloads.length > 0) await this.deliver(wires, batchBody(payloads, skipTriggers));
    this.settle(count);
  }

  private settle(count: number): void {
    this.settled += count;
    const waiters = this.waiters;
    let done = 0;
    while (done < waiters.length && waiters[done]!.target <= this.settled) waiters[done++]!.resolve();
    if (done > 0) waiters.splice(0, done);
  }

  private async deliver(wires: WireItem[], body: string): Promise<void> {
    const { url, headers, transport, timeout, maxRetries, onError } = this.options;
    const closing = this.aborter.signal;
    for (let attempt = 0; ; attempt++) {
      if (closing.aborted) {
        report(onError, new LetterError("the client was closed before these items were sent", { code: "client_closed" }), wires);
        return;
      }
      let error: LetterError;
      let delay: number | undefined;
      const timedOut = new AbortController();
      this.requestTimer = this.startTimer(timeout, () => timedOut.abort(new DOMException("request timed out", "TimeoutError")));
      try {
        const signal = AbortSignal.any([closing, timedOut.signal]);
        const response = await transport.send({ url, headers, body, timeout, signal });
        const status = Number(response.status);
        if (status >= 200 && status < 300) {
          this.reportRejected(response, wires);
          return;
        }
        error = httpError(response);
        if (status === 429) delay = retryAfter(response) ?? backoffDelay(attempt);
        else if (status >= 500) delay = backoffDelay(attempt);
      } catch (cause) {
        if (closing.aborted) {
          const message = "close() timed out while these items were being sent; their delivery is unknown";
          report(onError, new LetterError(message, { code: "client_closed", cause }), wires);
          return;
        }
        error = new LetterError(`network error: ${describe(cause)}`, { code: "network_error", cause });
        delay = backoffDelay(attempt);
      } finally {
        clearTimeout(this.requestTimer);
        this.requestTimer = undefined;
      }
      if (delay === undefined || attempt >= maxRetries || closing.aborted) {
        report(onError, error, wires);
        return;
      }
      await this.sleep(delay);
    }
  }

  /** A 200 may still refuse some items: `{"rejected": [{index, code, message}]}`. */
  private reportRejected(response: TransportResponse, wires: WireItem[]): void {
    const data = parseJson(response.body) as { rejected?: unknown } | undefined;
    if (typeof data !== "object" || data === null || !Array.isArray(data.rejected)) return;
    for (const entry of data.rejected as unknown[]) {
      if (typeof entry !== "object" || entry === null) continue;
      const { index, code, message } = entry as { index?: unknown; code?: unknown; message?: unknown };
      if (typeof index !== "number" || !Number.isInteger(index) || index < 0 || index >= wires.length) continue;
      const text = typeof message === "string" ? message : "item rejected";
      const body = { error: { code: typeof code === "string" ? code : "bad_request", message: text } };
      report(this.options.onError, new LetterError(text, { status: response.status, body }), [wires[index]!]);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.sleeping = undefined;
        resolve();
      };
      // Unref'd unless awaited (see holdOpen); beforeExit refs it too if the
      // process would otherwise exit in the middle of a retry.
      const timer = this.startTimer(ms, wake);
      this.sleeping = { timer, wake };
    });
  }

  /** Every queued item goes to `onError`; counts as settled. */
  private abandon(reason: string): void {
    const items: WireItem[] = [];
    while (this.head < this.queue.length) {
      items.push(toWire(this.queue[this.head]!));
      this.take();
    }
    if (items.length > 0) report(this.options.onError, new LetterError(reason, { code: "client_closed" }), items);
    this.settle(items.length);
  }

  private queueFull(item: Queued): void {
    const message = `queue is full (maxQueueSize=${this.options.maxQueueSize}); the item was not queued`;
    report(this.options.onError, new LetterError(message, { code: "queue_full" }), [toWire(item)]);
  }
}

function describe(cause: unknown): string {
  if (cause instanceof Error) {
    const inner = (cause as { cause?: unknown }).cause;
    return inner instanceof Error ? `${cause.message} (${inner.message})` : cause.message;
  }
  return String(cause);
}
