/**
 * `@letterapp/node` — the official Node.js SDK for the Letter Ingestion API.
 *
 * Report users, accounts and events from your backend; the client batches
 * them and sends them to `POST /v1/batch`, retrying transient failures:
 *
 * @example
 * ```ts
 * import { Letter } from "@letterapp/node";
 *
 * const letter = new Letter({ apiKey: process.env.LETTER_API_KEY! });
 * letter.identify({ userId: "u_1", email: "ada@example.com", traits: { plan: "free" } });
 * letter.track({ userId: "u_1", event: "Workspace Created" });
 * await letter.close();
 * ```
 *
 * Zero runtime dependencies; Node 20+.
 *
 * @packageDocumentation
 */
export { Letter } from "./_client.js";
export type { GroupMessage, IdentifyMessage, LetterOptions, TrackMessage } from "./_client.js";
export { LetterError } from "./_errors.js";
export type { ErrorBody, LetterErrorOptions } from "./_errors.js";
export type { JsonObject, Timestamp, WireItem } from "./_messages.js";
export type { OnError } from "./_report.js";
export { FetchTransport } from "./_transport.js";
export type { Transport, TransportRequest, TransportResponse } from "./_transport.js";
export { VERSION } from "./_version.js";
