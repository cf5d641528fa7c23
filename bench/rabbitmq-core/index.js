// The RabbitMQ core's topic handling (read, checks, session, routing key, guard with its cache, reply):
// this checkout's dist against another build of rabbitmq-core.js, on 70,000 distinct topic bodies.
// Alternating rounds, median ns per request.
// Run: pnpm build && [ROUNDS=20] node bench/rabbitmq-core/index.js OTHER/rabbitmq-core.js
import { resolve } from 'node:path';
import { createGuard } from '../../packages/core/dist/index.js';
import * as mine from '../../packages/rabbitmq/dist/rabbitmq-core.js';
import { oldAgainstNew } from '../old-against-new.js';

if (!process.argv[2]) throw new Error('usage: node bench/rabbitmq-core/index.js OTHER/rabbitmq-core.js');
const theirs = await import(resolve(process.argv[2]));
const principals = new Map();
for (let i = 0; i < 10_000; i++) {
  const u = `u${i}`;
  principals.set(u, { id: u, username: u, clientId: u, method: 'password', roles: [], attributes: {} });
}
const authorizer = {
  authorize: (principal, request) =>
    request.topic.startsWith(`devices/${principal.username}/`)
      ? { allowed: true, reason: 'rule' }
      : { allowed: false, reason: 'default' },
};
const bodies = [];
for (let i = 0; i < 70_000; i++) {
  const u = `u${i % 10_000}`;
  const t = `devices.${u}.t.${(i / 10_000) | 0}`;
  bodies.push(
    Buffer.from(
      `username=${u}&vhost=%2F&resource=topic&name=amq.topic&permission=${i % 3 ? 'write' : 'read'}&tags=` +
        `&routing_key=${t}&variable_map.client_id=${u}&variable_map.username=${u}&variable_map.vhost=%2F`,
    ),
  );
}
const log = { debug() {}, error() {} };
const contenders = ['old', 'new'].map((name) => {
  const events = [];
  const guard = createGuard({ authenticators: [], authorizer });
  const core = (name === 'old' ? theirs : mine).createRabbitMqCore({
    guard,
    resolver: { resolve: (query) => principals.get(query.username) },
    onDecision: (event) => events.length < 1000 && events.push(event),
  });
  return { name, core, events };
});
// Same replies and events first.
for (const body of bodies.slice(0, 1000)) {
  const [a, b] = contenders.map(({ core }) => core.topic(body, log));
  if (a.status !== b.status || String(a.body) !== String(b.body)) throw new Error(`differ on ${body}`);
}
if (JSON.stringify(contenders[0].events) !== JSON.stringify(contenders[1].events))
  throw new Error('events differ');
const [old, latest] = contenders.map(
  ({ core }) =>
    (body) =>
      core.topic(body, log).status,
);
const ns = oldAgainstNew({ old, new: latest }, bodies, Number(process.env.ROUNDS ?? 20));
console.log(
  `old ${ns.old.toFixed(1)} ns/request, new ${ns.new.toFixed(1)} ns/request, new/old ${(ns.new / ns.old).toFixed(3)}`,
);
