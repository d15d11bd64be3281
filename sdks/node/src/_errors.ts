/** The API's error shape: `{"error": {"code": ..., "message": ...}}`. */
export interface ErrorBody {
  error: { code: string; message: string; [key: string]: unknown };
  [key: string]: unknown;
}

/** Options of {@link LetterError}'s constructor. */
export interface LetterErrorOptions {
  /** Error code when `body` is not given, e.g. `"queue_full"`. */
  code?: string;
  /** HTTP status of the response, when there was one. */
  status?: number;
  /** The API's error body, kept as the server sent it. */
  body?: ErrorBody;
  /** The underlying error (a network failure, a JSON encoding error). */
  cause?: unknown;
}

/**
 * An error from the Letter SDK or the Letter API.
 *
 * `body` always has the API's error shape, whether the error came from the
 * server or was detected by the SDK itself; `status` is the HTTP status of the
 * response, or `null` when no response was involved (configuration errors,
 * invalid arguments, a full queue, network failures).
 *
 * @example
 * ```ts
 * try {
 *   new Letter({ apiKey: "oops" });
 * } catch (err) {
 *   if (err instanceof LetterError) {
 *     err.status; // null
 *     err.code;   // "unauthorized"
 *     err.body;   // { error: { code: "unauthorized", message: "..." } }
 *   }
 * }
 * ```
 *
 * Errors that happen while delivering in the background are never thrown:
 * they go to the client's `onError(error, items)` with the items concerned.
 */
export class LetterError extends Error {
  /** HTTP status of the response, or `null` when no response was involved. */
  readonly status: number | null;
  /** `{ error: { code, message } }`, the API's error format. */
  readonly body: ErrorBody;

  constructor(message: string, options: LetterErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "LetterError";
    this.status = options.status ?? null;
    this.body = options.body ?? { error: { code: options.code ?? "error", message } };
  }

  /** The error code, e.g. `"rate_limited"`, `"queue_full"`, `"network_error"`. */
  get code(): string {
    const code = this.body.error?.code;
    return typeof code === "string" ? code : "error";
  }

  override toString(): string {
    const where = this.status === null ? "" : ` (HTTP ${this.status})`;
    return `${this.code}${where}: ${this.message}`;
  }
}
