// Bounded soak of `hybrid serve` (loopback only): CLIENTS concurrent clients for SECONDS, random prompts and
// lengths over chat and completions, streamed and not; 10% of streams are cut by the client, 5% of requests are
// malformed. Checks: no connection failures or 5xx on valid requests, 4xx on every malformed one, every slot free at
// the end (/metrics), and prints the server's RSS after warm-up and at the end (from /proc, PID given).
// usage: node soak.mjs URL SERVER_PID SECONDS CLIENTS
import fs from "node:fs";

const [url, pid, seconds, clients] = [process.argv[2], +process.argv[3], +process.argv[4], +process.argv[5]];
const rss = () => +/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))[1] / 1024;
const words = "the of and a to in is you that it he was for on are as with his they at be this have from".split(" ");
let seed = 12345;
const rnd = (n) => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n; };
const text = (n) => Array.from({ length: n }, () => words[rnd(words.length)]).join(" ");
const stats = { ok: 0, cut: 0, malformed: 0, bad4xx: 0, fail5xx: 0, neterr: 0, wrong4xx: 0 };
const malformed = [
  () => "{not json",
  () => JSON.stringify({ messages: "nope" }),
  () => JSON.stringify({ messages: [{ role: "wizard", content: "x" }] }),
  () => JSON.stringify({ messages: [{ role: "user", content: "x" }], temperature: -1 }),
  () => JSON.stringify({ prompt: [1, 2, -5] }),
  () => JSON.stringify({ messages: [{ role: "user", content: "x" }], max_tokens: "many" }),
  () => "[".repeat(5000),
];

async function one() {
  const r = rnd(100);
  const chatApi = rnd(2) === 0;
  const path = chatApi ? "/v1/chat/completions" : "/v1/completions";
  if (r < 5) {
    const res = await fetch(url + path, { method: "POST", body: malformed[rnd(malformed.length)]() });
    await res.text();
    stats.malformed++;
    if (res.status >= 500) stats.fail5xx++;
    else if (res.status < 400) stats.wrong4xx++;
    return;
  }
  const stream = rnd(2) === 0;
  const body = { max_tokens: 1 + rnd(48), temperature: rnd(3) === 0 ? 0 : 0.8, seed: rnd(1000), stream };
  if (chatApi) body.messages = [{ role: "user", content: text(1 + rnd(200)) }];
  else body.prompt = text(1 + rnd(300));
  const ac = new AbortController();
  const res = await fetch(url + path, { method: "POST", body: JSON.stringify(body), signal: ac.signal });
  if (res.status >= 500) { stats.fail5xx++; await res.text(); return; }
  if (res.status !== 200) { stats.bad4xx++; console.log("unexpected", res.status, await res.text()); return; }
  if (!stream) { await res.json(); stats.ok++; return; }
  const cut = r < 15;  // 10% of all requests: streams cut by the client
  const reader = res.body.getReader();
  let chunks = 0;
  for (;;) {
    const { done } = await reader.read();
    if (done) break;
    if (cut && ++chunks === 1) { ac.abort(); stats.cut++; return; }
  }
  stats.ok++;
}

async function client(deadline) {
  while (Date.now() < deadline) {
    try { await one(); } catch (e) { if (e.name !== "AbortError") { stats.neterr++; console.log("error", e.message); } }
  }
}

const t0 = Date.now();
const warm = t0 + Math.min(30, seconds / 5) * 1000;
await Promise.all(Array.from({ length: clients }, () => client(warm)));
const rssWarm = rss();
await Promise.all(Array.from({ length: clients }, () => client(t0 + seconds * 1000)));
await new Promise((r) => setTimeout(r, 500));
const rssEnd = rss();
const m = await (await fetch(url + "/metrics")).text();
const total = +/hybrid_slots_total (\d+)/.exec(m)[1], free = +/hybrid_slots_free (\d+)/.exec(m)[1];
const running = +/hybrid_requests_running (\d+)/.exec(m)[1];
console.log(JSON.stringify({ seconds, clients, ...stats, rss_mb_after_warmup: +rssWarm.toFixed(1), rss_mb_end: +rssEnd.toFixed(1),
                             slots_free: free, slots_total: total, running }));
const failed = stats.fail5xx + stats.neterr + stats.bad4xx + stats.wrong4xx + (free !== total) + (running !== 0);
console.log(`${failed ? 0 : 1} passed, ${failed ? 1 : 0} failed`);
process.exit(failed ? 1 : 0);
