// Child process of bench/aedes/index.js: an Aedes broker on 127.0.0.1:0, plain or guarded by mqtt-warden
// (password logins with the authenticator's success cache, a compiled policy). Sends its port over IPC
// and answers any message with its CPU time.
import { createServer } from 'node:net';
import { Aedes } from 'aedes';
import { attachGuard } from '../../packages/aedes/dist/index.js';
import { createGuard } from '../../packages/core/dist/index.js';
import {
  createMemoryStore,
  createPasswordAuthenticator,
  hashPassword,
} from '../../packages/password/dist/index.js';
import { parsePolicy } from '../../packages/policy/dist/index.js';

const POLICY = `
version: 1
users: { publisher: [publisher], reader: [reader] }
roles:
  publisher:
    rules:
      - { effect: allow, actions: publish, topics: ["bench/#"] }
  reader:
    rules:
      - { effect: allow, actions: read, topics: ["bench/#"] }
`;

const broker = await Aedes.createBroker();
if (process.argv[2] === 'guarded') {
  const hash = await hashPassword('bench-password');
  const store = createMemoryStore(['publisher', 'reader'].map((username) => ({ username, hash })));
  const guard = createGuard({
    authenticators: [createPasswordAuthenticator({ store })],
    authorizer: parsePolicy(POLICY),
  });
  attachGuard(broker, guard);
}
const server = createServer(broker.handle);
server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
// CPU time used so far (µs), so the bench can report broker cost per operation, which holds up
// better than wall-clock rates on a busy machine.
process.on('message', () => {
  const { user, system } = process.cpuUsage();
  process.send({ cpu: user + system });
});
process.on('disconnect', () => process.exit(0));
