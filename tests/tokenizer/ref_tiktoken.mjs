// Expected ids from an independent implementation: npm tiktoken (WASM build of OpenAI's Rust core), cl100k_base,
// encode_ordinary. Reads a JSON array of {"file": path} or {"text": string}; writes a JSON array of id arrays.
// Files are read whole, as UTF-8. usage: node ref_tiktoken.mjs IN.json OUT.json
import { createRequire } from 'module';
import fs from 'fs';
import path from 'path';
import { fileURLToPath } from 'url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '../../tools/node/package.json'));
const { get_encoding } = require('tiktoken');

const [inPath, outPath] = process.argv.slice(2);
const items = JSON.parse(fs.readFileSync(inPath, 'utf8'));
const enc = get_encoding('cl100k_base');
const out = fs.openSync(outPath, 'w');
fs.writeSync(out, '[');
items.forEach((it, i) => {
  const text = it.file !== undefined ? fs.readFileSync(it.file, 'utf8') : it.text;
  const ids = it.special ? enc.encode(text, 'all') : enc.encode_ordinary(text);
  fs.writeSync(out, (i ? ',\n' : '\n') + '[' + Array.from(ids).join(',') + ']');
});
fs.writeSync(out, '\n]\n');
fs.closeSync(out);
enc.free();
