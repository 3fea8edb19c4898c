// Writes expected.json: what @huggingface/jinja (pinned in package-lock.json) renders for every
// template of templates.json and of DIR/*/tokenizer_config.json, for every conversation of
// cases.json, with and without the generation prompt, as transformers' apply_chat_template
// calls it (bos_token, eos_token, messages, tools where given, add_generation_prompt). A
// rendering that fails is recorded as its error. A case with "only" is rendered with those
// templates alone: content given as a list of parts is what a multimodal template reads,
// while other templates would add a string to a list (a TypeError in Python, which
// @huggingface/jinja renders as text). Run once when the inputs change:
//   cd tests/data/chat_templates && npm ci && node generate.mjs ../../../../shared/data/tokenizers/hf
import { readdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { Template } from '@huggingface/jinja';

const hf = process.argv[2];
if (!hf) throw new Error('usage: node generate.mjs DIR (the folder holding gemma3/, llama3/, ...)');

// A tokenizer_config.json token: a string or {"content": ...}.
const token = (t) => (t === null || t === undefined ? '' : typeof t === 'string' ? t : t.content ?? '');

const templates = JSON.parse(readFileSync('templates.json', 'utf8')).templates.map((t) => ({
  name: t.name, template: t.template, bos_token: '<s>', eos_token: '</s>',
}));
for (const dir of readdirSync(hf).sort()) {
  const path = `${hf}/${dir}/tokenizer_config.json`;
  if (!existsSync(path)) continue;
  const config = JSON.parse(readFileSync(path, 'utf8'));
  if (typeof config.chat_template !== 'string') continue;
  templates.push({ name: `shared:${dir}`, template: config.chat_template, bos_token: token(config.bos_token), eos_token: token(config.eos_token) });
}

const { cases } = JSON.parse(readFileSync('cases.json', 'utf8'));
const version = JSON.parse(readFileSync('node_modules/@huggingface/jinja/package.json', 'utf8')).version;
const results = [];
for (const t of templates) {
  const template = new Template(t.template);
  for (const c of cases) {
    if (c.only && !c.only.includes(t.name)) continue;  // cases only some templates take
    for (const add_generation_prompt of [false, true]) {
      const variables = { messages: c.messages, bos_token: t.bos_token, eos_token: t.eos_token, add_generation_prompt, ...(c.variables ?? {}) };
      if (c.tools) variables.tools = c.tools;
      const r = { template: t.name, case: c.name, add_generation_prompt };
      try {
        r.output = template.render(variables);
      } catch (e) {
        r.error = e.message;
      }
      results.push(r);
    }
  }
}
const shared = templates.filter((t) => t.name.startsWith('shared:')).map((t) => ({ name: t.name, bos_token: t.bos_token, eos_token: t.eos_token }));
writeFileSync('expected.json', JSON.stringify({ generator: `@huggingface/jinja ${version} (npm)`, shared, results }, null, 1) + '\n');
console.log(`${results.length} renderings of ${templates.length} templates, ${results.filter((r) => r.error).length} errors`);
