/** Handing undeliverable items to `onError`, safely. */
import type { LetterError } from "./_errors.js";
import type { WireItem } from "./_messages.js";

/**
 * Called with the error and the items (as they were or would have been sent,
 * `message_id` included) whenever items cannot be delivered.
 */
export type OnError = (error: LetterError, items: WireItem[]) => unknown;

/** The default `onError`: one line on stderr per failure. */
export function defaultOnError(error: LetterError, items: WireItem[]): void {
  const n = items.length;
  process.stderr.write(`@letterapp/node: ${n} item${n === 1 ? "" : "s"} not delivered: ${error.toString()}\n`);
}

function complain(thrown: unknown): void {
  try {
    process.stderr.write(`@letterapp/node: onError threw: ${thrown instanceof Error ? thrown.stack : String(thrown)}\n`);
  } catch {
    // stderr is gone (the process is exiting): nothing left to tell.
  }
}

/** Call `onError`; neither its exception nor its rejected promise may escape. */
export function report(onError: OnError, error: LetterError, items: WireItem[]): void {
  try {
    const result = onError(error, items);
    if (result instanceof Promise) result.catch(complain);
  } catch (thrown) {
    complain(thrown);
  }
}
