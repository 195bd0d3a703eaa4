// Expected ids from an independent HF-tokenizers implementation: npm @lenml/tokenizers loading a tokenizer.json +
// tokenizer_config.json we wrote. Encodes with added tokens matched (HF encode, no BOS/EOS added), and renders the
// chat template of tokenizer_config.json through its Jinja engine.
// IN.json: {"texts": [string...], "chats": [{"messages": [...], "add_generation_prompt": bool}...]}
// OUT.json: {"ids": [[...]...], "chats": [string...]}
// usage: node ref_lenml.mjs TOKENIZER_DIR IN.json OUT.json
import { createRequire } from 'module';
import fs from 'fs';
import path from 'path';
import { fileURLToPath } from 'url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '../../tools/node/package.json'));
const { TokenizerLoader } = require('@lenml/tokenizers');

const [dir, inPath, outPath] = process.argv.slice(2);
const tokenizerJSON = JSON.parse(fs.readFileSync(path.join(dir, 'tokenizer.json'), 'utf8'));
const tokenizerConfig = JSON.parse(fs.readFileSync(path.join(dir, 'tokenizer_config.json'), 'utf8'));
const tok = TokenizerLoader.fromPreTrained({ tokenizerJSON, tokenizerConfig });
const input = JSON.parse(fs.readFileSync(inPath, 'utf8'));
const ids = (input.texts || []).map((t) => Array.from(tok.encode(t, { add_special_tokens: false })));
const chats = (input.chats || []).map((c) =>
  tok.apply_chat_template(c.messages, { tokenize: false, add_generation_prompt: c.add_generation_prompt }));

fs.writeFileSync(outPath, JSON.stringify({ ids, chats }));
