// Drives `hybrid serve` with the official OpenAI Node client (and plain fetch for what the client cannot send).
// Servers: A (prefix cache), B (no cache), C (--api-key sekret), D (one slot, no queue). Prints one line per check
// and "N passed, N failed" at the end; exits non-zero on any failure.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

// The client lives in tools/node (installed by scripts/setup.sh), not beside this file.
const here = path.dirname(fileURLToPath(import.meta.url));
const { default: OpenAI } = await import(pathToFileURL(path.join(here, "../../tools/node/node_modules/openai/index.mjs")).href);

const { URL_A, URL_B, URL_C, URL_D, PROMPT_SHORT, PROMPT_LONG, GEN_SHORT_FILE, GEN_LONG_FILE } = process.env;
const client = (url, key = "none") => new OpenAI({ baseURL: url + "/v1", apiKey: key, maxRetries: 0, timeout: 60000 });
const A = client(URL_A), B = client(URL_B), C = client(URL_C, "sekret"), D = client(URL_D);
let passed = 0, failed = 0;
const check = (name, ok, detail = "") => {
  if (ok) passed++; else failed++;
  console.log(`${ok ? "ok  " : "FAIL"} ${name}${ok || !detail ? "" : ": " + detail}`);
};
const model = (await A.models.list()).data[0].id;
const chat = (c, content, extra = {}) =>
  c.chat.completions.create({ model, messages: [{ role: "user", content }], temperature: 0, max_tokens: 24, ...extra });
async function streamText(c, params) {
  const s = await c.chat.completions.create({ model, temperature: 0, stream: true, stream_options: { include_usage: true }, ...params });
  let text = "", first = null, finish = null, usage = null, chunks = 0;
  for await (const ch of s) {
    chunks++;
    if (first === null) first = ch;
    if (ch.choices.length && ch.choices[0].delta?.content) text += ch.choices[0].delta.content;
    if (ch.choices.length && ch.choices[0].finish_reason) finish = ch.choices[0].finish_reason;
    if (ch.usage) usage = ch;
  }
  return { text, first, finish, usage, chunks };
}
async function errorOf(p) {
  try { await p; return null; } catch (e) { return e; }
}

// Models, health.
check("models list has the model", typeof model === "string" && model.length > 0);
check("/health is 200", (await fetch(URL_A + "/health")).status === 200);

// Chat, non-stream and stream agree (greedy); usage shape.
const r1 = await chat(A, "Hello there, how are you?");
check("chat: assistant message", r1.choices[0].message.role === "assistant" && typeof r1.choices[0].message.content === "string");
check("chat: usage with cached_tokens", r1.usage.prompt_tokens > 0 && r1.usage.completion_tokens > 0 &&
      typeof r1.usage.prompt_tokens_details.cached_tokens === "number");
const s1 = await streamText(A, { messages: [{ role: "user", content: "Hello there, how are you?" }], max_tokens: 24 });
check("stream: role delta first", s1.first.choices[0].delta.role === "assistant");
check("stream = non-stream (greedy)", s1.text === r1.choices[0].message.content, JSON.stringify([s1.text, r1.choices[0].message.content]));
check("stream: finish_reason and usage chunk", s1.finish === r1.choices[0].finish_reason && s1.usage && s1.usage.choices.length === 0);

// Completions = hybrid generate (token for token, as text), short prompt and one longer than a 512-token chunk.
const genShort = fs.readFileSync(GEN_SHORT_FILE, "utf8").replace(/\n$/, "");
const genLong = fs.readFileSync(GEN_LONG_FILE, "utf8").replace(/\n$/, "");
const c1 = await A.completions.create({ model, prompt: PROMPT_SHORT, max_tokens: 24, temperature: 0 });
check("completions = hybrid generate (short)", c1.choices[0].text === genShort, JSON.stringify([c1.choices[0].text, genShort]));
const c2 = await B.completions.create({ model, prompt: PROMPT_LONG, max_tokens: 16, temperature: 0 });
check("completions = hybrid generate (long prompt, 2 chunks)", c2.choices[0].text === genLong && c2.usage.prompt_tokens > 512,
      JSON.stringify([c2.choices[0].text, genLong, c2.usage.prompt_tokens]));
let ctext = "";
for await (const ch of await A.completions.create({ model, prompt: PROMPT_SHORT, max_tokens: 24, temperature: 0, stream: true }))
  ctext += ch.choices[0]?.text ?? "";
check("completions stream = non-stream", ctext === genShort);
const ids = await A.completions.create({ model, prompt: [5, 6, 7, 8, 9], max_tokens: 5, temperature: 0 });
check("completions with token ids", ids.usage.prompt_tokens === 5 && ids.usage.completion_tokens >= 1);

// 8 concurrent requests = each alone (on the server without a cache, so nothing is shared).
const prompts = Array.from({ length: 8 }, (_, i) => `Request number ${i}: ` + "lorem ipsum ".repeat(i * 7 + 1));
const alone = [];
for (const p of prompts) alone.push((await chat(B, p)).choices[0].message.content);
const together = await Promise.all(prompts.map((p) => chat(B, p)));
check("8 concurrent = each alone", together.every((r, i) => r.choices[0].message.content === alone[i]));

// Prefix cache: a repeated prompt is fully cached and identical; turn 2 reuses turn 1 (prompt and reply);
// outputs equal the cache-off server's.
const sys = "You are a careful assistant. " + "Answer in short sentences. ".repeat(20);
const q1 = [{ role: "system", content: sys }, { role: "user", content: "Tell me about foxes." }];
const t1 = await A.chat.completions.create({ model, messages: q1, temperature: 0, max_tokens: 20 });
const t1again = await A.chat.completions.create({ model, messages: q1, temperature: 0, max_tokens: 20 });
check("repeated prompt fully cached and identical", t1again.usage.prompt_tokens_details.cached_tokens === t1again.usage.prompt_tokens &&
      t1again.choices[0].message.content === t1.choices[0].message.content,
      JSON.stringify(t1again.usage));
const q2 = [...q1, { role: "assistant", content: t1.choices[0].message.content }, { role: "user", content: "And wolves?" }];
const t2 = await A.chat.completions.create({ model, messages: q2, temperature: 0, max_tokens: 20 });
const t2off = await B.chat.completions.create({ model, messages: q2, temperature: 0, max_tokens: 20 });
check("turn 2 reuses turn 1", t2.usage.prompt_tokens_details.cached_tokens >= t1.usage.prompt_tokens, JSON.stringify([t2.usage, t1.usage]));
check("cache on = cache off", t2.choices[0].message.content === t2off.choices[0].message.content &&
      t2off.usage.prompt_tokens_details.cached_tokens === 0);

// Abort mid-stream: the slot is freed.
const ac = new AbortController();
const st = await A.chat.completions.create({ model, messages: [{ role: "user", content: "count" }], temperature: 0, max_tokens: 2000, stream: true }, { signal: ac.signal });
let n = 0;
await errorOf((async () => { for await (const _ of st) { if (++n === 3) ac.abort(); } })());
check("abort stops the stream early", n < 2000, `chunks ${n}`);
let freed = false;
for (let i = 0; i < 50 && !freed; i++) {
  const m = await (await fetch(URL_A + "/metrics")).text();
  const total = +/hybrid_slots_total (\d+)/.exec(m)[1], free = +/hybrid_slots_free (\d+)/.exec(m)[1];
  freed = total === free;
  if (!freed) await new Promise((r) => setTimeout(r, 100));
}
check("aborted stream frees its slot", freed);

// Errors: OpenAI error objects and statuses.
let e = await errorOf(A.chat.completions.create({ model: "nope", messages: [{ role: "user", content: "x" }] }));
check("unknown model is 404 model_not_found", e?.status === 404 && e?.code === "model_not_found");
e = await errorOf(chat(A, "x", { temperature: 5 }));
check("temperature out of range is 400 naming it", e?.status === 400 && e?.param === "temperature");
e = await errorOf(chat(A, "x", { n: 2 }));
check("n = 2 is 400", e?.status === 400 && e?.param === "n");
e = await errorOf(A.completions.create({ model, prompt: Array(5000).fill(7), max_tokens: 4 }));
check("too long prompt is context_length_exceeded", e?.status === 400 && e?.code === "context_length_exceeded");
e = await errorOf(A.chat.completions.create({ model, messages: [] }));
check("empty messages is 400", e?.status === 400 && e?.param === "messages");
let res = await fetch(URL_A + "/v1/chat/completions", { method: "POST", body: "{not json", headers: { "content-type": "application/json" } });
let body = await res.json();
check("malformed JSON is 400 with an error object", res.status === 400 && typeof body.error?.message === "string" && "param" in body.error);
res = await fetch(URL_A + "/v1/chat/completions", { method: "POST", body: JSON.stringify({ messages: [{ role: "user", content: 5 }] }) });
check("wrong content type is 400", res.status === 400);
res = await fetch(URL_A + "/v1/chat/completions", { method: "POST", body: "[".repeat(100000) });
check("deep nesting is 400", res.status === 400);
res = await fetch(URL_A + "/v1/nothing");
check("unknown route is 404 with an error object", res.status === 404 && (await res.json()).error.code === "not_found");

// Auth (server C).
e = await errorOf(client(URL_C, "wrong").chat.completions.create({ model, messages: [{ role: "user", content: "x" }] }));
check("wrong API key is 401", e?.status === 401);
check("right API key works", (await C.chat.completions.create({ model, messages: [{ role: "user", content: "x" }], max_tokens: 2 })).choices.length === 1);
check("/health stays public", (await fetch(URL_C + "/health")).status === 200);

// Queue full (server D: one slot, no queue): 429 with Retry-After.
const busy = D.chat.completions.create({ model, messages: [{ role: "user", content: "go" }], max_tokens: 3000, temperature: 0 });
await new Promise((r) => setTimeout(r, 50));
res = await fetch(URL_D + "/v1/chat/completions", { method: "POST", body: JSON.stringify({ messages: [{ role: "user", content: "x" }], max_tokens: 2 }) });
check("queue full is 429 with Retry-After", res.status === 429 && res.headers.get("retry-after") !== null,
      `status ${res.status}`);
await busy;

// Tokenize / detokenize; metrics.
const tk = await (await fetch(URL_A + "/tokenize", { method: "POST", body: JSON.stringify({ content: "Hello world" }) })).json();
const dt = await (await fetch(URL_A + "/detokenize", { method: "POST", body: JSON.stringify({ tokens: tk.tokens }) })).json();
check("tokenize / detokenize round trip", dt.content === "Hello world");
const metrics = await (await fetch(URL_A + "/metrics")).text();
check("metrics: requests, cache hits, histograms", /hybrid_requests_total\{status="200"\} \d+/.test(metrics) &&
      /hybrid_prefix_cache_hit_tokens_total [1-9]/.test(metrics) && /hybrid_time_to_first_token_seconds_count [1-9]/.test(metrics));

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
