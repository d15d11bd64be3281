/** The {@link Letter} client. */
import { Engine } from "./_engine.js";
import { LetterError } from "./_errors.js";
import { GROUP, IDENTIFY, TRACK, type JsonObject, type Kind, type Timestamp } from "./_messages.js";
import { defaultOnError, type OnError } from "./_report.js";
import { FetchTransport, type Transport } from "./_transport.js";
import { VERSION } from "./_version.js";

export const DEFAULT_BASE_URL = "https://api.letter.app";
export const USER_AGENT = `letterapp-node/${VERSION}`;

const API_KEY = /^lt_live_[0-9a-fA-F]{48}$/;

/** Options of {@link Letter}'s constructor. */
export interface LetterOptions {
  /** Required. `lt_live_` followed by 48 hex characters, from Dashboard - Settings - API keys. */
  apiKey: string;
  /** Where the API lives. Defaults to `LETTER_API_URL`, then `https://api.letter.app`. */
  baseUrl?: string;
  /** Send a batch as soon as this many items are queued (and never more in one request). Default 50. */
  flushAt?: number;
  /** Milliseconds a partial batch may wait for more items. Default 100. */
  flushInterval?: number;
  /** Retries of a batch after a 5xx, a 429 or a network error. Default 3. */
  maxRetries?: number;
  /** Milliseconds one request may take. Default 10 000. */
  timeout?: number;
  /** Items that may wait in the queue; past it new items go to `onError`. Default 10 000. */
  maxQueueSize?: number;
  /** Send every batch with `skip_triggers: true` (backfills enrol nobody). Default false. */
  skipTriggers?: boolean;
  /** Called with the error and the items whenever items cannot be delivered. Default: a line on stderr. */
  onError?: OnError;
  /** How requests are sent. Default {@link FetchTransport}. */
  transport?: Transport;
}

/** Fields every call accepts. */
interface CallOptions {
  /** When it happened: a `Date` or an ISO-8601 string. Default: the time of the call. */
  timestamp?: Timestamp;
  /** Idempotency key; generated (a UUID) when absent, and kept across retries. */
  messageId?: string;
  /** Ingest without enrolling anyone in sequences; overrides the client's option. */
  skipTriggers?: boolean;
}

/** Arguments of {@link Letter.identify}. */
export interface IdentifyMessage extends CallOptions {
  userId: string | number;
  email?: string | null;
  /** Deep-merged into the contact's traits server-side; `null` values are kept. */
  traits?: JsonObject | null;
  /** IANA time zone name, e.g. `"Europe/Paris"`. */
  timezone?: string | null;
}

/** Arguments of {@link Letter.group}. */
export interface GroupMessage extends CallOptions {
  userId: string | number;
  accountId: string | number;
  name?: string | null;
  /** Deep-merged into the account's traits server-side. */
  traits?: JsonObject | null;
}

/** Arguments of {@link Letter.track}. */
export interface TrackMessage extends CallOptions {
  userId: string | number;
  event: string;
  properties?: JsonObject | null;
}

function invalid(message: string, code = "bad_request"): LetterError {
  return new LetterError(message, { code });
}

function show(value: unknown): string {
  try {
    return typeof value === "string" ? JSON.stringify(value) : String(value);
  } catch {
    return typeof value;
  }
}

function integer(name: string, value: unknown, fallback: number, minimum: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < minimum) {
    throw invalid(`${name} must be an integer >= ${minimum}, got ${show(value)}`);
  }
  return value;
}

function id(name: string, value: unknown): string {
  if (typeof value === "string" && value.length > 0) return value;
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  throw invalid(`${name} must be a non-empty string, got ${show(value)}`);
}

function optionalString(name: string, value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") throw invalid(`${name} must be a string, got ${show(value)}`);
  return value;
}

/** A shallow copy, so a caller reusing the object after the call changes nothing sent. */
function object(name: string, value: unknown): JsonObject | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "object" || Array.isArray(value)) throw invalid(`${name} must be an object, got ${show(value)}`);
  return { ...(value as JsonObject) };
}

function timestampOf(value: unknown): Timestamp | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === "string") return value;
  if (value instanceof Date && !Number.isNaN(value.getTime())) return value;
  throw invalid(`timestamp must be a valid Date or an ISO-8601 string, got ${show(value)}`);
}

function messageIdOf(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string" || value.length === 0) throw invalid(`messageId must be a non-empty string, got ${show(value)}`);
  return value;
}

/**
 * Client for the Letter Ingestion API.
 *
 * Calls are queued and sent in batches to `POST /v1/batch` on a later turn of
 * the event loop, so they return at once and never do I/O on your turn.
 *
 * @example
 * ```ts
 * import { Letter } from "@letterapp/node";
 *
 * const letter = new Letter({ apiKey: process.env.LETTER_API_KEY! });
 * letter.identify({ userId: "u_1", email: "ada@example.com", traits: { plan: "free" } });
 * letter.group({ userId: "u_1", accountId: "w_1", name: "Acme", traits: { mrr: 49 } });
 * letter.track({ userId: "u_1", event: "Workspace Created" });
 * await letter.close(); // before the process exits
 * ```
 *
 * Delivery problems never throw: they go to `onError(error, items)`. A full
 * queue, a message over 32 KB, a 4xx, retries exhausted: each reaches it with
 * the items concerned.
 *
 * @throws {@link LetterError} from the constructor on a missing or malformed
 * `apiKey` (code `"unauthorized"`) or an invalid option (code `"bad_request"`).
 */
export class Letter {
  /** The API's address, without a trailing slash. */
  readonly baseUrl: string;
  private readonly engine: Engine;
  private readonly skipTriggers: boolean;
  private closed = false;
  private closing: Promise<boolean> | undefined;

  constructor(options: LetterOptions) {
    const { apiKey } = options ?? ({} as LetterOptions);
    if (!apiKey) throw invalid("apiKey is required: create one in Dashboard - Settings - API keys", "unauthorized");
    if (typeof apiKey !== "string" || !API_KEY.test(apiKey)) {
      throw invalid("apiKey is malformed: expected lt_live_ followed by 48 hex characters", "unauthorized");
    }
    const baseUrl = options.baseUrl ?? (process.env.LETTER_API_URL || DEFAULT_BASE_URL);
    let parsed: URL;
    try {
      parsed = new URL(baseUrl);
    } catch {
      throw invalid(`baseUrl must be an http:// or https:// URL, got ${show(baseUrl)}`);
    }
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
      throw invalid(`baseUrl must be an http:// or https:// URL, got ${show(baseUrl)}`);
    }
    if (parsed.search || parsed.hash) throw invalid(`baseUrl must not have a query or fragment: ${show(baseUrl)}`);
    const onError = options.onError ?? defaultOnError;
    if (typeof onError !== "function") throw invalid("onError must be a function");
    const skipTriggers = options.skipTriggers ?? false;
    if (typeof skipTriggers !== "boolean") throw invalid("skipTriggers must be true or false");
    const transport = options.transport ?? new FetchTransport();
    if (typeof transport?.send !== "function") throw invalid("transport must have a send(request) method");

    this.baseUrl = baseUrl.replace(/\/+$/, "");
    this.skipTriggers = skipTriggers;
    this.engine = new Engine({
      url: `${this.baseUrl}/v1/batch`,
      headers: {
        authorization: `Bearer ${apiKey}`,
        "content-type": "application/json",
        accept: "application/json",
        "user-agent": USER_AGENT,
      },
      transport,
      flushAt: integer("flushAt", options.flushAt, 50, 1),
      flushInterval: integer("flushInterval", options.flushInterval, 100, 0),
      maxRetries: integer("maxRetries", options.maxRetries, 3, 0),
      timeout: integer("timeout", options.timeout, 10_000, 1),
      maxQueueSize: integer("maxQueueSize", options.maxQueueSize, 10_000, 1),
      onError,
    });
  }

  /**
   * Create or update a contact; `traits` are deep-merged server-side.
   *
   * @example
   * ```ts
   * letter.identify({ userId: "u_1", email: "ada@example.com", traits: { plan: "pro" }, timezone: "Europe/Paris" });
   * ```
   *
   * Returns at once. Don't mutate nested values of `traits` after the call:
   * they are encoded later (the top-level object is copied).
   */
  identify(message: IdentifyMessage): void {
    this.check(message);
    this.enqueue(
      IDENTIFY,
      message,
      optionalString("email", message.email),
      object("traits", message.traits),
      optionalString("timezone", message.timezone),
    );
  }

  /**
   * Create or update an account and link the contact `userId` to it. The
   * link only lands if the contact exists, so `identify` first.
   *
   * @example
   * ```ts
   * letter.group({ userId: "u_1", accountId: "w_1", name: "Acme", traits: { mrr: 49 } });
   * ```
   */
  group(message: GroupMessage): void {
    this.check(message);
    this.enqueue(
      GROUP,
      message,
      id("accountId", message.accountId),
      optionalString("name", message.name),
      object("traits", message.traits),
    );
  }

  /**
   * Record that `userId` did `event`. Events may start sequences unless
   * `skipTriggers` is set on the call or the client.
   *
   * @example
   * ```ts
   * letter.track({ userId: "u_1", event: "Workspace Created", properties: { workspaceId: "w_1" } });
   * ```
   */
  track(message: TrackMessage): void {
    this.check(message);
    const { event } = message;
    if (typeof event !== "string" || event.length === 0) throw invalid(`event must be a non-empty string, got ${show(event)}`);
    this.enqueue(TRACK, message, event, object("properties", message.properties), undefined);
  }

  /**
   * Send everything queued so far and resolve once it has settled (sent, or
   * handed to `onError`), batches already in flight included. Resolves
   * `false` if `timeout` ms pass first; the items stay queued and are still
   * sent later.
   *
   * @example
   * ```ts
   * letter.track({ userId: "u_1", event: "Checkout Started" });
   * await letter.flush();
   * ```
   */
  flush(timeout?: number): Promise<boolean> {
    if (this.closed) return Promise.reject(this.closedError());
    return this.engine.flush(timeout === undefined ? undefined : integer("timeout", timeout, 0, 0));
  }

  /**
   * Flush, then refuse new calls. Waits up to `timeout` ms (by default until
   * everything settled, which retries bound). On timeout the request in flight
   * is aborted, the items not settled go to `onError` (`client_closed`) and it
   * resolves `false`. Later `identify`/`group`/`track`/`flush` calls throw;
   * closing again returns the first result.
   *
   * @example
   * ```ts
   * await letter.close(5_000);
   * ```
   */
  close(timeout?: number): Promise<boolean> {
    if (this.closing === undefined) {
      const limit = timeout === undefined ? undefined : integer("timeout", timeout, 0, 0);
      this.closed = true;
      this.closing = this.engine.shutdown(limit);
    }
    return this.closing;
  }

  private enqueue(kind: Kind, message: CallOptions & { userId: unknown }, a: unknown, b: unknown, c: unknown): void {
    const { userId } = message;
    const skip = message.skipTriggers;
    if (skip !== undefined && typeof skip !== "boolean") throw invalid("skipTriggers must be true or false");
    this.engine.push({
      kind,
      userId: typeof userId === "string" && userId.length > 0 ? userId : id("userId", userId),
      a,
      b,
      c,
      timestamp: timestampOf(message.timestamp),
      messageId: messageIdOf(message.messageId),
      skipTriggers: skip ?? this.skipTriggers,
      created: Date.now(),
    });
  }

  private check(message: unknown): void {
    if (this.closed) throw this.closedError();
    if (typeof message !== "object" || message === null) throw invalid(`expected an object of fields, got ${show(message)}`);
  }

  private closedError(): LetterError {
    return new LetterError("this Letter client is closed", { code: "client_closed" });
  }
}
