// readPlainJson: this checkout's dist against another build of read-plain-json.js (e.g. another
// checkout's packages/core/dist/read-plain-json.js), on 70,000 distinct EMQX authz bodies (KIND=go-auth:
// go-auth ACL bodies), with the emqx adapter's key set. Alternating rounds, median ns per body; the
// objects are used (a key read) so that they are not optimised away. LOOKUP=1: each read's topic is then
// looked up in a Map of every body's topic as that build read it, as the decision cache does.
// Run: pnpm build && [KIND=go-auth] [LOOKUP=1] [ROUNDS=30] node bench/read-plain-json/index.js OTHER/read-plain-json.js
import { resolve } from 'node:path';
import * as mine from '../../packages/core/dist/index.js';
import { oldAgainstNew } from '../old-against-new.js';

if (!process.argv[2]) throw new Error('usage: node bench/read-plain-json/index.js OTHER/read-plain-json.js');
const theirs = await import(resolve(process.argv[2]));
const theirForm = await import(resolve(process.argv[2], '../read-plain-form.js'));
const NAMES = ['username', 'clientid', 'topic', 'action', 'qos', 'retain', 'acc', 'peerhost', 'password'];
const goAuth = process.env.KIND === 'go-auth';
const bodies = [];
for (let i = 0; i < 70_000; i++) {
  const u = `u${i % 10_000}`;
  const topic = `devices/${u}/t/${(i / 10_000) | 0}`;
  const value = goAuth
    ? { acc: i % 3 ? 2 : 4, clientid: u, topic, username: u }
    : { username: u, clientid: u, topic, action: i % 3 ? 'publish' : 'subscribe', qos: '1', retain: 'false' };
  bodies.push(Buffer.from(JSON.stringify(value)));
}
const contenders = [
  ['old', theirs.readPlainJson, new theirForm.PlainFormKeys(NAMES)],
  ['new', mine.readPlainJson, new mine.PlainFormKeys(NAMES)],
];
// Same answers first.
for (const body of bodies.slice(0, 2000)) {
  const a = contenders[0][1](body, contenders[0][2]);
  const b = contenders[1][1](body, contenders[1][2]);
  if (JSON.stringify(a) !== JSON.stringify(b) || JSON.stringify(b) !== body.toString())
    throw new Error(`differ on ${body}`);
}
const lookup = process.env.LOOKUP === '1';
const [old, latest] = contenders.map(([, read, keys]) => {
  if (!lookup) return (body) => read(body, keys).topic.length;
  const topics = new Map(bodies.map((body, i) => [read(body, keys).topic, i]));
  return (body) => topics.get(read(body, keys).topic);
});
const ns = oldAgainstNew({ old, new: latest }, bodies, Number(process.env.ROUNDS ?? 30));
console.log(
  `readPlainJson${lookup ? ' and a topic lookup' : ''}, ${goAuth ? 'go-auth' : 'EMQX'} bodies: old ${ns.old.toFixed(1)} ns, new ${ns.new.toFixed(1)} ns per body (new/old ${(ns.new / ns.old).toFixed(3)})`,
);
