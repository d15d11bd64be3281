// Driven by tests/e2e/test_node_sdk_e2e.py against a real server: contacts,
// nested trait merges, nulls, accounts, links and events; then close().
import { Letter } from "@letterapp/node";

const n = Number(process.env.USERS ?? 20);
const failures = [];
const letter = new Letter({
  apiKey: process.env.LETTER_API_KEY,
  onError: (error, items) => failures.push({ code: error.code, status: error.status, items: items.length }),
});
const pad = (i) => String(i).padStart(2, "0");
for (let i = 0; i < n; i++) {
  letter.identify({
    userId: `u_${pad(i)}`, email: `u${i}@example.com`, timezone: i % 2 ? "Europe/Paris" : undefined,
    traits: { name: `User ${i}`, plan: "free", nickname: `n${i}`, address: { city: "Paris", zip: `750${pad(i)}` } },
  });
}
for (let i = 0; i < n; i += 2) {
  letter.identify({ userId: `u_${pad(i)}`, traits: { plan: "pro", address: { city: "Lyon" }, nickname: null } });
}
for (let i = 0; i < n; i++) {
  if (i % 4) letter.group({ userId: `u_${pad(i)}`, accountId: `acct_${i % 3}`, name: `Account ${i % 3}`, traits: { plan: "team", billing: { seats: 5 } } });
}
letter.group({ userId: "u_01", accountId: "acct_0", traits: { billing: { mrr: 49 } } });
const t0 = Date.UTC(2026, 0, 1);
for (let i = 0; i < n; i++) {
  letter.track({ userId: `u_${pad(i)}`, event: "Signed In", properties: { i }, timestamp: new Date(t0 + i * 60_000) });
}
letter.track({ userId: "nobody", event: "Visited", properties: { path: "/pricing" }, skipTriggers: true });
const closed = await letter.close(30_000);
console.log(JSON.stringify({ closed, failures }));
