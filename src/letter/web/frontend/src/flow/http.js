// JSON to the dashboard's island endpoints, with the CSRF header.
export async function postJson(url, csrf, body) {
  const response = await fetch(url, { method: "POST", credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
    body: JSON.stringify(body) });
  let answer;
  try {
    answer = await response.json();
  } catch (_) {
    answer = { error: { message: `The server answered ${response.status}.` } };
  }
  return { ok: response.ok, status: response.status, body: answer };
}
