// Writes expected.json: the ids Hugging Face `tokenizers` (the npm binding of the Rust library,
// pinned in package-lock.json) gives every string of strings.json, for each tokenizer of
// variants.json, without and with special tokens. Run once when the inputs change:
//   cd tests/data/tokenizers && npm ci && node generate.mjs ../../../../shared/data/tokenizers/hf
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Tokenizer } from 'tokenizers';

const hf = process.argv[2];
if (!hf) throw new Error('usage: node generate.mjs DIR (the folder holding llama3/, qwen3/, ...)');

// RFC 7396: objects merge key by key, null deletes, anything else replaces.
function mergePatch(target, patch) {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const out = target !== null && typeof target === 'object' && !Array.isArray(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = mergePatch(out[key], value);
  }
  return out;
}

// `base` names a folder of DIR; `local` one beside this script (tokenizers made for the tests).
function variant(spec) {
  const dir = spec.local ?? `${hf}/${spec.base}`;
  let json = JSON.parse(readFileSync(`${dir}/tokenizer.json`, 'utf8'));
  if (spec.patch) json = mergePatch(json, spec.patch);
  if (spec.added_tokens) {
    for (const token of json.added_tokens) Object.assign(token, spec.added_tokens.update?.[token.content] ?? {});
    json.added_tokens.push(...(spec.added_tokens.append ?? []));
  }
  return Tokenizer.fromString(JSON.stringify(json));
}

const strings = JSON.parse(readFileSync('strings.json', 'utf8'));
const { tokenizers } = JSON.parse(readFileSync('variants.json', 'utf8'));
const version = createRequire(import.meta.url)('tokenizers/package.json').version;
const out = { generator: `tokenizers ${version} (npm)`, tokenizers: {} };
for (const spec of tokenizers) {
  const tokenizer = variant(spec);
  const cases = [];
  for (const text of strings.concat(spec.extra_strings ?? [])) {
    const plain = await tokenizer.encode(text, null, { addSpecialTokens: false });
    const special = await tokenizer.encode(text, null, { addSpecialTokens: true });
    cases.push({ text, ids: plain.getIds(), with_special: special.getIds() });
  }
  out.tokenizers[spec.name] = cases;
  console.log(`${spec.name}: ${cases.length} strings`);
}
// One case per line keeps diffs of regenerated data readable.
const lines = Object.entries(out.tokenizers).map(
  ([name, cases]) => `    ${JSON.stringify(name)}: [\n${cases.map((c) => `      ${JSON.stringify(c)}`).join(',\n')}\n    ]`);
writeFileSync('expected.json', `{\n  "generator": ${JSON.stringify(out.generator)},\n  "tokenizers": {\n${lines.join(',\n')}\n  }\n}\n`);
