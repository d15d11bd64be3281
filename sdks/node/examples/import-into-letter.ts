// The "Initial import" guide's script: a one-shot backfill of users and their
// workspaces with identify and group, one page at a time, checkpointed after
// every page so that a killed run resumes where it stopped. iterateUsers reads
// a CSV file or a SQLite database; the three places where this script
// differs from the guide's are marked "Differs from the guide".
//
//   export LETTER_API_KEY=lt_live_...            # Settings -> API keys
//   export LETTER_API_URL=http://127.0.0.1:8300  # when self-hosting
//   npx tsx examples/import-into-letter.ts --source users.db --dry-run | head -50
//   npx tsx examples/import-into-letter.ts --source users.db
//
// Delete .letter-import-checkpoint.json to start over.
import { Letter } from "@letterapp/node";
import { readFile, writeFile } from "node:fs/promises";
import { createHash } from "node:crypto";

const CHECKPOINT = ".letter-import-checkpoint.json";
const PAGE_SIZE = 100;
const DRY_RUN = process.argv.includes("--dry-run");

// Differs from the guide: the guide logs every onError and moves on, so a
// page whose retries ran out would still be checkpointed and never sent.
// Here a failed delivery stops the import at the last delivered page; items
// the server refused (bad data) are listed and the import goes on.
let deliveryFailed = false;

const letter = new Letter({
  apiKey: process.env.LETTER_API_KEY!,
  flushAt: PAGE_SIZE, // one batch per page
  maxRetries: 5, // ride out transient 5xx / 429
  onError: (err, items) => {
    const refused = err.status === 200 || (err.status === null && ["bad_request", "payload_too_large"].includes(err.code));
    if (refused) for (const item of items) console.error("[letter] rejected", item.message_id, String(err));
    else {
      deliveryFailed = true;
      console.error("[letter] flush failed:", err);
    }
  },
});

type SourceUser = {
  id: string;
  email: string;
  name: string | null;
  plan: string;
  signupAt: Date;
  workspace?: {
    id: string;
    name: string;
    mrr: number;
  };
};

// Replace the body with your own paginated query. Yield rows in a stable
// order (id ASC works). The checkpoint stores the last id seen so you can
// resume after a crash without re-sending the whole table.
async function* iterateUsers(after: string | null): AsyncGenerator<SourceUser> {
  // The users come from the file named by --source (or LETTER_IMPORT_SOURCE):
  // a CSV file with a header row, or a SQLite database with a `users` table.
  // Columns: id, email, name, plan, signup_at, workspace_id, workspace_name,
  // workspace_mrr (the workspace columns empty for users without one).
  const flag = process.argv.indexOf("--source");
  const source = flag > 0 ? process.argv[flag + 1] : process.env.LETTER_IMPORT_SOURCE;
  if (!source) throw new Error("usage: import-into-letter.ts --source users.csv|users.db [--dry-run]");

  const text = (value: unknown): string | null =>
    value === null || value === undefined || value === "" ? null : String(value);
  const toUser = (row: Record<string, unknown>): SourceUser => {
    const id = text(row.id);
    const email = text(row.email);
    if (id === null || email === null) throw new Error(`a row without id or email: ${JSON.stringify(row)}`);
    const workspaceId = text(row.workspace_id);
    return {
      id,
      email,
      name: text(row.name),
      plan: text(row.plan) ?? "free",
      signupAt: new Date(text(row.signup_at) ?? 0),
      workspace: workspaceId === null ? undefined : {
        id: workspaceId,
        name: text(row.workspace_name) ?? workspaceId,
        mrr: Number(text(row.workspace_mrr) ?? 0),
      },
    };
  };

  if (source.toLowerCase().endsWith(".csv")) {
    const { createReadStream } = await import("node:fs");
    const { createInterface } = await import("node:readline");
    // One record a line; fields may be "quoted", with "" for a quote inside.
    const cells = (line: string): string[] => {
      const out: string[] = [];
      let cell = "";
      let quoted = false;
      for (let i = 0; i < line.length; i++) {
        const ch = line[i];
        if (quoted && ch === '"' && line[i + 1] === '"') { cell += '"'; i++; }
        else if (ch === '"') quoted = !quoted;
        else if (ch === "," && !quoted) { out.push(cell); cell = ""; }
        else cell += ch;
      }
      out.push(cell);
      return out;
    };
    let header: string[] | null = null;
    let previous: string | null = null;
    const lines = createInterface({ input: createReadStream(source, "utf8"), crlfDelay: Infinity });
    for await (const line of lines) {
      if (line === "") continue;
      if (header === null) {
        header = cells(line.replace(/^\uFEFF/, ""));
        continue;
      }
      const values = cells(line);
      const user = toUser(Object.fromEntries(header.map((name, i) => [name, values[i]])));
      // The checkpoint is only meaningful if the file is in id order.
      if (previous !== null && user.id <= previous) throw new Error(`${source} is not sorted by id at ${user.id}`);
      previous = user.id;
      if (after === null || user.id > after) yield user;
    }
    return;
  }

  // SQLite, read with keyset pagination: node:sqlite on Node 22.5+, else the
  // sql.js package (npm install sql.js) on older Node versions.
  type Rows = (after: string | null, limit: number) => Record<string, unknown>[];
  const query =
    "SELECT id, email, name, plan, signup_at, workspace_id, workspace_name, workspace_mrr" +
    " FROM users WHERE ? IS NULL OR id > ? ORDER BY id LIMIT ?";
  let rows: Rows;
  const load = (name: string): Promise<any> => import(name);
  try {
    const { DatabaseSync } = await load("node:sqlite");
    const statement = new DatabaseSync(source, { readOnly: true }).prepare(query);
    rows = (cursor, limit) => statement.all(cursor, cursor, limit);
  } catch {
    const SQL = await (await load("sql.js")).default();
    const db = new SQL.Database(await readFile(source));
    rows = (cursor, limit) => {
      const statement = db.prepare(query, [cursor, cursor, limit]);
      const page: Record<string, unknown>[] = [];
      while (statement.step()) page.push(statement.getAsObject());
      statement.free();
      return page;
    };
  }
  for (let cursor = after; ;) {
    const page = rows(cursor, 1000).map(toUser);
    if (page.length === 0) return;
    yield* page;
    cursor = page.at(-1)!.id;
  }
}

async function loadCheckpoint(): Promise<string | null> {
  try {
    const raw = await readFile(CHECKPOINT, "utf8");
    return (JSON.parse(raw) as { cursor: string | null }).cursor;
  } catch {
    return null;
  }
}

async function saveCheckpoint(cursor: string | null): Promise<void> {
  // Differs from the guide: a dry run sends nothing, so it must not move the
  // checkpoint (the real run would then skip every row the dry run printed).
  if (DRY_RUN) return;
  await writeFile(CHECKPOINT, JSON.stringify({ cursor }, null, 2));
}

async function main() {
  let cursor: string | null = await loadCheckpoint();
  let processed = 0;
  let buffer: SourceUser[] = [];

  for await (const user of iterateUsers(cursor)) {
    buffer.push(user);
    if (buffer.length < PAGE_SIZE) continue;
    await flushPage(buffer);
    cursor = buffer.at(-1)!.id;
    await saveCheckpoint(cursor);
    processed += buffer.length;
    console.log(`imported ${processed}`);
    buffer = [];
  }

  if (buffer.length > 0) {
    await flushPage(buffer);
    cursor = buffer.at(-1)!.id;
    await saveCheckpoint(cursor);
    processed += buffer.length;
    console.log(`imported ${processed}`);
  }

  await letter.close();
  console.log(`done. ${processed} contacts processed.`);
}

async function flushPage(page: SourceUser[]): Promise<void> {
  if (DRY_RUN) {
    for (const u of page) console.log("would import", u.id, u.email);
    return;
  }
  // Differs from the guide: its messageIds depend on the row's id only, so
  // the server dedupes a re-run with corrected data and keeps the old values
  // (for the 30 days it remembers message ids). Here they also carry a digest
  // of what is sent: an unchanged row is still a duplicate, a corrected one
  // is applied.
  const digest = (value: unknown): string => createHash("sha256").update(JSON.stringify(value)).digest("hex").slice(0, 16);
  for (const u of page) {
    const traits = {
      name: u.name,
      plan: u.plan,
      signup_at: u.signupAt.toISOString(),
    };
    letter.identify({
      userId: u.id,
      email: u.email,
      traits,
      timestamp: u.signupAt,
      // Stable messageId per source row keeps re-runs cheap on the wire.
      messageId: `import:identify:${u.id}:${digest([u.email, traits])}`,
    });
    if (u.workspace) {
      letter.group({
        userId: u.id,
        accountId: u.workspace.id,
        name: u.workspace.name,
        traits: { mrr: u.workspace.mrr },
        messageId: `import:group:${u.id}:${u.workspace.id}:${digest([u.workspace.name, u.workspace.mrr])}`,
      });
    }
  }
  await letter.flush();
  if (deliveryFailed) throw new Error("delivery failed; the checkpoint stays at the last delivered page: fix the cause and run again");
}

main().catch(async (err) => {
  console.error(err);
  await letter.close();
  process.exit(1);
});
