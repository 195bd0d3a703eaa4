// Encode throughput of npm tiktoken (WASM build of OpenAI's Rust core), cl100k_base encode_ordinary, on the
// whole text in one call, best of 3 (node is single-threaded). usage: node tiktoken_bench.mjs TEXT_FILE
import { createRequire } from 'module';
import fs from 'fs';
import path from 'path';
import { fileURLToPath } from 'url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '../tools/node/package.json'));
const { get_encoding } = require('tiktoken');

const text = fs.readFileSync(process.argv[2], 'utf8');
const mb = Buffer.byteLength(text, 'utf8') / 1e6;
const enc = get_encoding('cl100k_base');
let best = Infinity, n = 0;
for (let rep = 0; rep < 3; ++rep) {
  const t0 = process.hrtime.bigint();
  n = enc.encode_ordinary(text).length;
  best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9);
}
console.log(`tiktoken (WASM) encode_ordinary: ${(mb / best).toFixed(2).padStart(8)} MB/s  (${mb.toFixed(2)} MB, ${n} tokens, best of 3: ${best.toFixed(3)} s)`);
enc.free();
