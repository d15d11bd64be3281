/** How answers are judged: backoff, Retry-After, and errors from HTTP answers. */
import { LetterError, type ErrorBody } from "./_errors.js";
import type { TransportResponse } from "./_transport.js";

/** The first retry waits 250 ms, then the wait doubles, plus up to 25 % jitter. */
export const BACKOFF_BASE_MS = 250;
export const BACKOFF_CAP_MS = 30_000;
/** A server asking for a longer wait than this is not taken at its word. */
export const RETRY_AFTER_CAP_MS = 60_000;

const STATUS_CODES: Readonly<Record<number, string>> = {
  400: "bad_request",
  401: "unauthorized",
  403: "forbidden",
  404: "not_found",
  409: "conflict",
  413: "payload_too_large",
  429: "rate_limited",
  500: "internal_error",
};

/** Milliseconds to wait before retry number `attempt + 1`: 250 ms × 2^attempt, +0–25 %. */
export function backoffDelay(attempt: number): number {
  const base = Math.min(BACKOFF_BASE_MS * 2 ** attempt, BACKOFF_CAP_MS);
  return base * (1 + 0.25 * Math.random());
}

/** Case-insensitive header lookup (transports may keep the server's spelling). */
export function header(response: TransportResponse, name: string): string | undefined {
  const direct = response.headers[name];
  if (direct !== undefined) return direct;
  for (const key of Object.keys(response.headers)) {
    if (key.toLowerCase() === name) return response.headers[key];
  }
  return undefined;
}

export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function isErrorBody(data: unknown): data is ErrorBody {
  if (typeof data !== "object" || data === null) return false;
  const error = (data as { error?: unknown }).error;
  return typeof error === "object" && error !== null;
}

/**
 * Milliseconds a 429 asks to wait: `Retry-After` (seconds or an HTTP date),
 * else the body's `error.retryAfter`; capped at {@link RETRY_AFTER_CAP_MS}.
 * `undefined` when the answer says nothing usable.
 */
export function retryAfter(response: TransportResponse, now: number = Date.now()): number | undefined {
  let ms: number | undefined;
  const raw = header(response, "retry-after")?.trim();
  if (raw) {
    if (/^\d+(\.\d+)?$/.test(raw)) ms = Number(raw) * 1000;
    else {
      const when = Date.parse(raw);
      if (!Number.isNaN(when)) ms = when - now;
    }
  }
  if (ms === undefined) {
    const data = parseJson(response.body);
    const value = isErrorBody(data) ? data.error.retryAfter : undefined;
    if (typeof value === "number" && Number.isFinite(value)) ms = value * 1000;
  }
  if (ms === undefined || Number.isNaN(ms)) return undefined;
  return Math.max(0, Math.min(ms, RETRY_AFTER_CAP_MS));
}

/** A {@link LetterError} for a non-2xx answer, keeping the API's error body. */
export function httpError(response: TransportResponse): LetterError {
  const { status } = response;
  const data = parseJson(response.body);
  if (isErrorBody(data) && typeof data.error.code === "string" && typeof data.error.message === "string") {
    return new LetterError(data.error.message, { status, body: data });
  }
  const code = STATUS_CODES[status] ?? (status >= 500 ? "internal_error" : "http_error");
  const text = response.body.slice(0, 200).trim();
  let message = `HTTP ${status}${text ? `: ${text}` : ""}`;
  const location = header(response, "location");
  if (location) message += ` (redirect to ${location}; set baseUrl to the final address)`;
  return new LetterError(message, { code, status });
}
