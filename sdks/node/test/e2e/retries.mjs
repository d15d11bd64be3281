// Driven by tests/e2e/test_node_sdk_e2e.py through a fault-injecting proxy:
// n identify + n track in one batch, closed with every retry it takes.
import { Letter } from "@letterapp/node";

const n = Number(process.env.USERS ?? 30);
const failures = [];
const letter = new Letter({
  apiKey: process.env.LETTER_API_KEY,
  maxRetries: 5,
  flushAt: 100,
  onError: (error, items) => failures.push({ code: error.code, status: error.status, items: items.length }),
});
for (let i = 0; i < n; i++) {
  letter.identify({ userId: `r_${i}`, email: `r${i}@example.com`, traits: { i } });
  letter.track({ userId: `r_${i}`, event: "Retried", properties: { i } });
}
const closed = await letter.close(60_000);
console.log(JSON.stringify({ closed, failures }));
