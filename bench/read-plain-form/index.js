// readPlainFormValues: this checkout's dist against another build of read-plain-form.js (e.g. another
// checkout's packages/core/dist/read-plain-form.js), on 70,000 distinct RabbitMQ topic bodies.
// Alternating rounds, median ns per body.
// Run: pnpm build && [ORDER=reversed] [ROUNDS=30] node bench/read-plain-form/index.js OTHER/read-plain-form.js
import { resolve } from 'node:path';
import * as mine from '../../packages/core/dist/index.js';
import { oldAgainstNew } from '../old-against-new.js';

if (!process.argv[2]) throw new Error('usage: node bench/read-plain-form/index.js OTHER/read-plain-form.js');
const theirs = await import(resolve(process.argv[2]));
const NAMES = [
  'username',
  'vhost',
  'resource',
  'name',
  'permission',
  'tags',
  'routing_key',
  'variable_map.client_id',
  'variable_map.username',
  'variable_map.vhost',
];
// ORDER=reversed: the same pairs in the reverse order of the keys.
const reversed = process.env.ORDER === 'reversed';
const bodies = [];
for (let i = 0; i < 70_000; i++) {
  const u = `u${i % 10_000}`;
  const t = `devices.${u}.t.${(i / 10_000) | 0}`;
  const pairs = [
    `username=${u}`,
    'vhost=%2F',
    'resource=topic',
    'name=amq.topic',
    `permission=${i % 3 ? 'write' : 'read'}`,
    'tags=',
    `routing_key=${t}`,
    `variable_map.client_id=${u}`,
    `variable_map.username=${u}`,
    'variable_map.vhost=%2F',
  ];
  if (reversed) pairs.reverse();
  bodies.push(Buffer.from(pairs.join('&')));
}
const contenders = [
  ['old', theirs.readPlainFormValues, new theirs.PlainFormKeys(NAMES)],
  ['new', mine.readPlainFormValues, new mine.PlainFormKeys(NAMES)],
];
// Same answers first.
for (const body of bodies.slice(0, 2000)) {
  const a = JSON.stringify(contenders[0][1](body, contenders[0][2]));
  const b = JSON.stringify(contenders[1][1](body, contenders[1][2]));
  if (a !== b) throw new Error(`differ on ${body}: ${a} / ${b}`);
}
const [old, latest] = contenders.map(
  ([, read, keys]) =>
    (body) =>
      read(body, keys).length,
);
const ns = oldAgainstNew({ old, new: latest }, bodies, Number(process.env.ROUNDS ?? 30));
console.log(
  `old ${ns.old.toFixed(1)} ns/body, new ${ns.new.toFixed(1)} ns/body, new/old ${(ns.new / ns.old).toFixed(3)}`,
);
