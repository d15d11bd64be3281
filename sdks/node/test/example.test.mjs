// examples/import-into-letter.ts, run with tsx as the guide runs it, against a
// recording HTTP server: dry run, full run from CSV and SQLite, resume, failure.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, it } from "node:test";
import initSqlJs from "sql.js";

import { KEY, recordingServer } from "./helpers.mjs";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const TSX = join(ROOT, "node_modules", ".bin", "tsx");
const EXAMPLE = join(ROOT, "examples", "import-into-letter.ts");
const COLUMNS = ["id", "email", "name", "plan", "signup_at", "workspace_id", "workspace_name", "workspace_mrr"];

/** Users usr_0001..usr_NNNN; every third has no workspace; one name has a comma and a quote. */
function users(n) {
  return Array.from({ length: n }, (_, k) => {
    const i = k + 1;
    const ws = i % 3 === 0 ? null : `ws_${String(Math.ceil(i / 5)).padStart(3, "0")}`;
    return [`usr_${String(i).padStart(4, "0")}`, `user${i}@example.com`, i === 7 ? 'Ada "The" Lovelace, Countess' : i % 10 === 0 ? null : `User ${i}`,
      i % 2 ? "free" : "pro", new Date(Date.UTC(2024, 0, 1) + i * 60_000).toISOString(), ws, ws && `Workspace ${ws}`, ws && (i % 4) * 10];
  });
}

async function writeSource(dir, kind, n) {
  const rows = users(n);
  const path = join(dir, `users.${kind}`);
  if (kind === "csv") {
    const quote = (v) => (v === null ? "" : /[",]/.test(String(v)) ? `"${String(v).replaceAll('"', '""')}"` : String(v));
    writeFileSync(path, [COLUMNS.join(","), ...rows.map((r) => r.map(quote).join(","))].join("\n") + "\n");
  } else {
    const SQL = await initSqlJs();
    const db = new SQL.Database();
    db.run("CREATE TABLE users (id TEXT PRIMARY KEY, email TEXT, name TEXT, plan TEXT, signup_at TEXT, workspace_id TEXT, workspace_name TEXT, workspace_mrr INTEGER)");
    for (const row of rows) db.run("INSERT INTO users VALUES (?, ?, ?, ?, ?, ?, ?, ?)", row);
    writeFileSync(path, Buffer.from(db.export()));
  }
  return { path, rows };
}

function runExample(cwd, url, ...args) {
  return new Promise((resolve) => {
    const child = spawn(TSX, [EXAMPLE, ...args], { cwd, env: { ...process.env, LETTER_API_KEY: KEY, LETTER_API_URL: url } });
    let stdout = "", stderr = "";
    child.stdout.on("data", (c) => { stdout += c; });
    child.stderr.on("data", (c) => { stderr += c; });
    child.on("exit", (code) => resolve({ code, stdout, stderr, lines: stdout.trim().split("\n") }));
  });
}

const checkpoint = (dir) => JSON.parse(readFileSync(join(dir, ".letter-import-checkpoint.json"), "utf8"));

for (const kind of ["csv", "db"]) {
  describe(`import example (${kind})`, () => {
    it("dry run: prints every row, sends nothing, leaves no checkpoint", async () => {
      const dir = mkdtempSync(join(tmpdir(), "letter-example-"));
      const { path } = await writeSource(dir, kind, 150);
      const server = await recordingServer();
      try {
        const run = await runExample(dir, server.url, "--source", path, "--dry-run");
        assert.equal(run.code, 0, run.stderr);
        assert.equal(run.lines.filter((l) => l.startsWith("would import ")).length, 150);
        assert.equal(run.lines[0], "would import usr_0001 user1@example.com");
        assert.equal(server.bodies.length, 0);
        assert.equal(existsSync(join(dir, ".letter-import-checkpoint.json")), false);
      } finally {
        await server.close();
      }
    });

    it("imports every row once, page by page, and resumes after its checkpoint", async () => {
      const dir = mkdtempSync(join(tmpdir(), "letter-example-"));
      const { path, rows } = await writeSource(dir, kind, 250);
      const server = await recordingServer();
      try {
        writeFileSync(join(dir, ".letter-import-checkpoint.json"), JSON.stringify({ cursor: "usr_0100" }));
        const run = await runExample(dir, server.url, "--source", path);
        assert.equal(run.code, 0, run.stderr);
        assert.deepEqual(run.lines, ["imported 100", "imported 150", "done. 150 contacts processed."]);
        assert.deepEqual(checkpoint(dir), { cursor: "usr_0250" });
        const identified = server.items.filter((i) => i.type === "identify");
        assert.deepEqual(identified.map((i) => i.user_id), rows.slice(100).map((r) => r[0]));
        const [first] = identified;
        assert.match(first.message_id, /^import:identify:usr_0101:[0-9a-f]{16}$/);
        assert.deepEqual(first, {
          type: "identify", user_id: "usr_0101", email: "user101@example.com", message_id: first.message_id,
          timestamp: rows[100][4], traits: { name: "User 101", plan: "free", signup_at: rows[100][4] },
        });
        const groups = server.items.filter((i) => i.type === "group");
        assert.deepEqual(groups.map((g) => g.user_id), rows.slice(100).filter((r) => r[5]).map((r) => r[0]));
        assert.deepEqual(groups[0].traits, { mrr: rows[100][7] });
        assert.ok(server.bodies.every((b) => b.body.batch.length <= 100));
      } finally {
        await server.close();
      }
    });
  });
}

describe("import example, re-runs", () => {
  it("an unchanged row keeps its message ids; a corrected one gets new ones", async () => {
    const dir = mkdtempSync(join(tmpdir(), "letter-example-"));
    const { path } = await writeSource(dir, "csv", 12);
    const server = await recordingServer();
    try {
      assert.equal((await runExample(dir, server.url, "--source", path)).code, 0);
      const before = new Map(server.items.map((i) => [`${i.type}:${i.user_id}`, i.message_id]));
      const lines = readFileSync(path, "utf8").split("\n");
      lines[1] = lines[1].replace(",free,", ",pro,"); // usr_0001 upgraded
      lines[2] = lines[2].replace(/,(\d+)$/, ",999"); // usr_0002's workspace mrr corrected
      writeFileSync(path, lines.join("\n"));
      const sent = server.items.length;
      writeFileSync(join(dir, ".letter-import-checkpoint.json"), JSON.stringify({ cursor: null }));
      assert.equal((await runExample(dir, server.url, "--source", path)).code, 0);
      const changed = server.items.slice(sent).filter((i) => before.get(`${i.type}:${i.user_id}`) !== i.message_id);
      assert.deepEqual(changed.map((i) => `${i.type}:${i.user_id}`), ["identify:usr_0001", "group:usr_0002"]);
    } finally {
      await server.close();
    }
  });
});

describe("import example, failures", () => {
  it("a page that cannot be delivered stops the import at the last delivered page", async () => {
    const dir = mkdtempSync(join(tmpdir(), "letter-example-"));
    const { path } = await writeSource(dir, "csv", 250);
    let requests = 0;
    const server = await recordingServer((req, res) => {
      if (++requests < 3) return undefined;
      res.writeHead(401, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { code: "unauthorized", message: "key revoked" } }));
      return true;
    });
    try {
      const run = await runExample(dir, server.url, "--source", path);
      assert.equal(run.code, 1);
      assert.match(run.stderr, /flush failed/);
      assert.match(run.stderr, /the checkpoint stays at the last delivered page/);
      assert.deepEqual(checkpoint(dir), { cursor: "usr_0100" });
    } finally {
      await server.close();
    }
  });

  it("items the server refuses are listed and the import goes on", async () => {
    const dir = mkdtempSync(join(tmpdir(), "letter-example-"));
    const { path } = await writeSource(dir, "csv", 20);
    const server = await recordingServer((req, res, body) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ accepted: body.batch.length - 1, duplicates: 0, rejected: [{ index: 0, code: "bad_request", message: "email: invalid" }] }));
      return true;
    });
    try {
      const run = await runExample(dir, server.url, "--source", path);
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stderr, /rejected import:identify:usr_0001:[0-9a-f]{16} bad_request \(HTTP 200\): email: invalid/);
      assert.deepEqual(checkpoint(dir), { cursor: "usr_0020" });
      const ada = server.items.find((i) => i.user_id === "usr_0007" && i.type === "identify");
      assert.equal(ada.traits.name, 'Ada "The" Lovelace, Countess', "a quoted CSV field with a comma");
    } finally {
      await server.close();
    }
  });
});
