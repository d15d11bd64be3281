/**
 * Queued calls and their wire format for `POST /v1/batch`.
 *
 * The caller's turn only builds a {@link Queued} record; everything here
 * (message ids, timestamps, JSON encoding, sizes) runs later, when a batch
 * is assembled.
 */
import { randomUUID } from "node:crypto";

/** A JSON object: traits, properties. */
export type JsonObject = { [key: string]: unknown };

/** A point in time: a `Date`, or an ISO-8601 string sent as it is. */
export type Timestamp = Date | string;

/** One item of a `/v1/batch` request, as sent (`message_id` included). */
export interface WireItem {
  type: "identify" | "group" | "track";
  user_id: string;
  message_id: string;
  timestamp: string;
  [field: string]: unknown;
}

/** The API refuses bodies over 500 KB; batches stay under 475 KB. */
export const MAX_BATCH_BYTES = 475 * 1024;
/** A single encoded message may not exceed 32 KB. */
export const MAX_MESSAGE_BYTES = 32 * 1024;

export const IDENTIFY = 0;
export const GROUP = 1;
export const TRACK = 2;
export type Kind = typeof IDENTIFY | typeof GROUP | typeof TRACK;

/**
 * One queued call. `a`, `b`, `c` are (email, traits, timezone) for identify,
 * (accountId, name, traits) for group and (event, properties, -) for track;
 * `created` is `Date.now()` at the call, the default timestamp.
 */
export interface Queued {
  kind: Kind;
  userId: string;
  a: unknown;
  b: unknown;
  c: unknown;
  timestamp: Timestamp | undefined;
  messageId: string | undefined;
  skipTriggers: boolean;
  created: number;
}

const TYPES = ["identify", "group", "track"] as const;

/**
 * The wire object of a queued call. A generated message id is stored back
 * on the record so that every retry (and every report) carries the same one.
 */
export function toWire(item: Queued): WireItem {
  if (item.messageId === undefined) item.messageId = randomUUID();
  const wire: WireItem = {
    type: TYPES[item.kind],
    user_id: item.userId,
    message_id: item.messageId,
    timestamp: formatTimestamp(item.timestamp, item.created),
  };
  if (item.kind === TRACK) {
    wire.event = item.a;
    if (item.b !== undefined) wire.properties = item.b;
  } else if (item.kind === IDENTIFY) {
    if (item.a !== undefined) wire.email = item.a;
    if (item.b !== undefined) wire.traits = item.b;
    if (item.c !== undefined) wire.timezone = item.c;
  } else {
    wire.account_id = item.a;
    if (item.b !== undefined) wire.name = item.b;
    if (item.c !== undefined) wire.traits = item.c;
  }
  return wire;
}

function formatTimestamp(value: Timestamp | undefined, created: number): string {
  if (value === undefined) return new Date(created).toISOString();
  return typeof value === "string" ? value : value.toISOString();
}

/** Compact JSON of one wire item; throws when it cannot be encoded (BigInt, cycles). */
export function encode(wire: WireItem): string {
  return JSON.stringify(wire);
}

/** The `/v1/batch` request body for already-encoded items. */
export function batchBody(payloads: readonly string[], skipTriggers: boolean): string {
  return `{"batch":[${payloads.join(",")}],"skip_triggers":${skipTriggers}}`;
}

/** Bytes of a batch body that are not items (the longer of the two tails). */
export const ENVELOPE_BYTES = batchBody([], false).length;
