// Drives a running `rockllm serve` with the official npm clients, `ollama` and `openai`, the way
// applications use them. Any thrown error (a client error or a failed check) fails the run.
// Environment: ROCKLLM_URL, REGISTRY_MODEL (a model name a local registry serves), GGUF_PATH,
// REFERENCE_JSON (stories260K's greedy reference).
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { Ollama } from 'ollama';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { z } from 'zod';
import { zodResponseFormat } from 'openai/helpers/zod';

const url = process.env.ROCKLLM_URL;
const ollama = new Ollama({ host: url });
const openai = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'ollama' });
const anthropic = new Anthropic({ baseURL: url, apiKey: 'ollama' });
let checks = 0;

function check(condition, what) {
  if (!condition) throw new Error(`check failed: ${what}`);
  checks++;
}

const reference = JSON.parse(readFileSync(process.env.REFERENCE_JSON, 'utf8')).cases[1];
const expected = reference.text.slice('Once upon a time'.length);
const tokens = reference.n_generated;

// version, pull (streamed and not)
check(/^\d+\.\d+\.\d+/.test((await ollama.version()).version), 'version is X.Y.Z');
let last;
for await (const part of await ollama.pull({ model: process.env.REGISTRY_MODEL, insecure: true, stream: true })) last = part;
check(last.status === 'success', 'streamed pull ends in success');
check((await ollama.pull({ model: process.env.REGISTRY_MODEL, insecure: true })).status === 'success', 'pull');

// create from an uploaded GGUF (the Node client leaves blob uploads to the caller)
const gguf = readFileSync(process.env.GGUF_PATH);
const digest = 'sha256:' + createHash('sha256').update(gguf).digest('hex');
const upload = await fetch(`${url}/api/blobs/${digest}`, { method: 'POST', body: gguf });
check(upload.status === 201 || upload.status === 200, 'blob upload');
const created = await ollama.create({
  model: 'teller',
  files: { 'stories260K.gguf': digest },
  template: '{{- range .Messages }}{{ .Content }}{{ end }}',
  system: 'Once upon',
  parameters: { temperature: 0, num_predict: tokens },
});
check(created.status === 'success', 'create');
for await (const part of await ollama.create({ model: 'teller:streamed', from: 'teller', stream: true })) last = part;
check(last.status === 'success', 'streamed create');

// list, show, copy, delete
let names = (await ollama.list()).models.map((m) => m.model);
check(names.includes('teller:latest') && names.includes(process.env.REGISTRY_MODEL + ':latest'), 'list');
const shown = await ollama.show({ model: 'teller' });
check(shown.model_info['llama.context_length'] === 2048 && shown.system === 'Once upon', 'show');
check((await ollama.copy({ source: 'teller', destination: 'teller-copy' })).status === 'success', 'copy');
check((await ollama.delete({ model: 'teller-copy' })).status === 'success', 'delete');
check((await ollama.delete({ model: 'teller:streamed' })).status === 'success', 'delete');
names = (await ollama.list()).models.map((m) => m.model);
check(!names.includes('teller-copy:latest'), 'deleted model is gone');

// chat and generate, plain and streamed
const message = { role: 'user', content: ' a time' };
check((await ollama.chat({ model: 'teller', messages: [message] })).message.content === expected, 'chat');
let text = '';
for await (const part of await ollama.chat({ model: 'teller', messages: [message], stream: true })) text += part.message.content;
check(text === expected, 'streamed chat');
check((await ollama.generate({ model: 'teller', prompt: ' a time' })).response === expected, 'generate');
text = '';
for await (const part of await ollama.generate({ model: 'teller', prompt: 'Once upon a time', raw: true, stream: true })) text += part.response;
check(text === expected, 'streamed raw generate');

// embeddings, running models
const embedded = await ollama.embed({ model: 'teller', input: ['Once upon a time', 'Lily'] });
check(embedded.embeddings.length === 2 && embedded.embeddings[0].length === 64, 'embed');
check((await ollama.embeddings({ model: 'teller', prompt: 'Lily' })).embedding.length === 64, 'embeddings');
check((await ollama.ps()).models.some((m) => m.model === 'teller:latest'), 'ps');

// errors arrive as ResponseError with the status
try {
  await ollama.show({ model: 'nope' });
  check(false, 'show of a missing model throws');
} catch (e) {
  check(e.name === 'ResponseError' && e.status_code === 404, `404 ResponseError (got ${e})`);
}

// A tool call with the Llama 3.1 template (JSON calls with no tag), the answer held to a call's shape.
await ollama.create({ model: 'caller', from: 'teller', template: readFileSync(process.env.LLAMA3_TEMPLATE, 'utf8') });
const weather = { type: 'function', function: { name: 'get_weather', description: 'The weather in a city',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } };
const called = await ollama.chat({
  model: 'caller', messages: [{ role: 'user', content: 'What is the weather in Paris?' }], tools: [weather],
  format: { type: 'object', required: ['name', 'parameters'], properties: { name: { const: 'get_weather' },
    parameters: { type: 'object', required: ['city'], properties: { city: { type: 'string', maxLength: 12 } } } } },
  options: { temperature: 0, num_predict: 60 },
});
const call = called.message.tool_calls?.[0];
check(call?.function.name === 'get_weather' && typeof call.function.arguments.city === 'string' && called.message.content === '',
  `tool call with the Llama 3 template (got ${JSON.stringify(called.message)})`);
check(typeof embedded.load_duration === 'number', 'embed answers carry load_duration');

// the OpenAI client
check((await openai.models.list()).data.some((m) => m.id === 'teller:latest'), 'openai models.list');
const messages = [{ role: 'user', content: ' a time' }];
const completion = await openai.chat.completions.create({ model: 'teller', messages, temperature: 0, max_tokens: tokens });
check(completion.choices[0].message.content === expected && completion.usage.completion_tokens === tokens, 'openai chat');
text = '';
let usage;
const stream = await openai.chat.completions.create({ model: 'teller', messages, temperature: 0, max_tokens: tokens, stream: true, stream_options: { include_usage: true } });
for await (const chunk of stream) {
  if (chunk.choices.length) text += chunk.choices[0].delta.content ?? '';
  if (chunk.usage) usage = chunk.usage;
}
check(text === expected && usage.completion_tokens === tokens, 'openai streamed chat');
const legacy = await openai.completions.create({ model: 'teller', prompt: ' a time', temperature: 0, max_tokens: tokens });
check(legacy.choices[0].text === expected, 'openai completions');
const vectors = await openai.embeddings.create({ model: 'teller', input: 'Lily' });
check(vectors.data[0].embedding.length === 64, 'openai embeddings');
try {
  await openai.chat.completions.create({ model: 'nope', messages });
  check(false, 'openai chat with a missing model throws');
} catch (e) {
  check(e.status === 404, `openai 404 (got ${e})`);
}

const response = await openai.responses.create({ model: 'teller', input: ' a time', temperature: 0, max_output_tokens: tokens });
check(response.output_text === expected && response.usage.output_tokens === tokens, 'openai responses');
const responseStream = openai.responses.stream({ model: 'teller', input: ' a time', temperature: 0, max_output_tokens: tokens });
text = '';
responseStream.on('response.output_text.delta', (e) => { text += e.delta; });
const finalResponse = await responseStream.finalResponse();
check(text === expected && finalResponse.output_text === expected, 'openai streamed responses');

// Structured output from a zod schema with .int() (minimum and maximum on an integer), parsed by the SDK.
const person = await openai.chat.completions.parse({
  model: 'teller', messages, temperature: 0, max_tokens: 40,
  response_format: zodResponseFormat(z.object({ age: z.number().int() }), 'person'),
});
check(Number.isInteger(person.choices[0].message.parsed?.age), 'openai parse with a zod .int() schema');

// the Anthropic client, on /v1/messages
const asked = { model: 'teller', max_tokens: tokens, temperature: 0, messages: [{ role: 'user', content: ' a time' }] };
const reply = await anthropic.messages.create(asked);
check(reply.content[0].type === 'text' && reply.content[0].text === expected && reply.usage.output_tokens === tokens, 'anthropic messages');
const final = await anthropic.messages.stream(asked).finalMessage();
check(final.content[0].text === expected && final.stop_reason === 'max_tokens', 'anthropic streamed messages');
try {
  await anthropic.messages.create({ ...asked, model: 'nope' });
  check(false, 'anthropic messages with a missing model throws');
} catch (e) {
  check(e instanceof Anthropic.NotFoundError, `anthropic 404 (got ${e})`);
}

console.log(`official clients: ${checks} checks passed`);
