// The official openai client against `vkllm serve` on 127.0.0.1: chat, completion, streaming,
// stop sequences, a seeded request that repeats its text, models, and errors.
//   node client.mjs VKLLM_CLI SCRATCH_DIR
import { spawn, execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import assert from 'node:assert/strict';

let OpenAI;
try {
  ({ default: OpenAI } = await import('openai'));
} catch {
  throw new Error('the openai client is not installed: run tools/setup.sh (npm ci in tests/openai, from its lock file)');
}

const [cli, scratch] = process.argv.slice(2);
if (!cli || !scratch) throw new Error('usage: node client.mjs VKLLM_CLI SCRATCH_DIR');
mkdirSync(scratch, { recursive: true });
const model = `${scratch}/model.gguf`;
const template = "{{ bos_token }}{% for m in messages %}{{ m.role }}: {{ m.content }}\n{% endfor %}{% if add_generation_prompt %}assistant:{% endif %}";
execFileSync(cli, ['make-model', '--dim', '64', '--layers', '2', '--heads', '4', '--kv-heads', '2', '--ffn', '128', '--vocab', '300',
                   '--context', '256', '--type', 'f32', '--chat-template', template, '-o', model], { stdio: 'ignore' });

const server = spawn(cli, ['serve', '-m', model, '--port', '0', '--parallel', '2'], { env: { ...process.env, VKLLM_VALIDATION: '1' } });
let log = '';
const port = await new Promise((resolve, reject) => {
  server.stderr.on('data', (d) => {
    log += d;
    const m = log.match(/on http:\/\/127\.0\.0\.1:(\d+)/);
    if (m) resolve(Number(m[1]));
  });
  server.on('exit', (code) => reject(new Error(`vkllm serve exited with ${code}:\n${log}`)));
});

const client = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: 'unused', maxRetries: 0 });
const messages = [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Tell me a story.' }];
try {
  const models = await client.models.list();
  assert.equal(models.data[0].id, 'model.gguf');

  const chat = await client.chat.completions.create({ model: 'model.gguf', messages, max_tokens: 8, seed: 11 });
  assert.equal(chat.object, 'chat.completion');
  assert.equal(chat.choices[0].message.role, 'assistant');
  assert.equal(typeof chat.choices[0].message.content, 'string');
  assert.equal(chat.choices[0].finish_reason, 'length');
  assert.equal(chat.usage.completion_tokens, 8);

  // Seeded: the same text again, and the same streamed.
  const again = await client.chat.completions.create({ model: 'model.gguf', messages, max_tokens: 8, seed: 11 });
  assert.equal(again.choices[0].message.content, chat.choices[0].message.content);
  let streamed = '';
  let finish = null;
  const stream = await client.chat.completions.create({ model: 'model.gguf', messages, max_tokens: 8, seed: 11, stream: true });
  for await (const chunk of stream) {
    streamed += chunk.choices[0]?.delta?.content ?? '';
    finish = chunk.choices[0]?.finish_reason ?? finish;
  }
  assert.equal(streamed, chat.choices[0].message.content);
  assert.equal(finish, 'length');

  const completion = await client.completions.create({ model: 'model.gguf', prompt: 'once upon a time', max_tokens: 12, seed: 5 });
  assert.equal(completion.object, 'text_completion');
  const text = completion.choices[0].text;
  // Stop at an ASCII character the free text holds.
  const at = [...text].findIndex((c, i) => i > 0 && c.charCodeAt(0) < 128);
  assert.ok(at > 0, `no ASCII character to stop at in ${JSON.stringify(text)}`);
  const stop = [...text][at];
  const stopped = await client.completions.create({ model: 'model.gguf', prompt: 'once upon a time', max_tokens: 12, seed: 5, stop: [stop] });
  assert.equal(stopped.choices[0].finish_reason, 'stop');
  assert.equal(stopped.choices[0].text, text.slice(0, text.indexOf(stop)));

  // Errors arrive as the client's APIError with OpenAI's fields.
  await assert.rejects(client.completions.create({ model: 'model.gguf', prompt: 'hi', max_tokens: 100000 }), (e) => {
    assert.equal(e.status, 400);
    assert.equal(e.code, 'context_length_exceeded');
    return true;
  });
  await assert.rejects(client.chat.completions.create({ model: 'model.gguf', messages, temperature: 'warm' }), (e) => {
    assert.equal(e.status, 400);
    assert.equal(e.param, 'temperature');
    return true;
  });
  console.log('openai client: all checks passed');
} finally {
  if (server.exitCode === null) {
    const exited = new Promise((resolve) => server.on('exit', resolve));
    server.kill('SIGTERM');
    await exited;
  }
  rmSync(scratch, { recursive: true, force: true });
  if (log.includes('[vulkan validation]')) throw new Error(`validation messages:\n${log}`);
}
