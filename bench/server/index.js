// HTTP auth server benchmark: autocannon against /emqx/authz and /mosquitto/acl (10k distinct
// principals and topics), a bare node:http server answering a constant JSON, and a connect storm on
// /emqx/authn with argon2id credentials, cached vs uncached. Build first: pnpm exec tsc -b packages/server
// Run: node bench/server/index.js [seconds=5] [connections=50]
import { fork } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';

const seconds = Number(process.argv[2] ?? 5);
const connections = Number(process.argv[3] ?? 50);
const PRINCIPALS = 10_000;
const STORM_USERS = 50;

if (process.argv[2] === 'child') await child(process.argv[3], process.argv[4]);
else await main();

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'warden-bench-'));
  const { hashPassword } = await import('../../packages/password/dist/index.js');
  const hash = await hashPassword('bench-password');
  const users = ['users:'];
  for (let i = 0; i < PRINCIPALS; i++) users.push(`  u${i}:\n    hash: ${hash}\n    roles: [device]`);
  writeFileSync(join(dir, 'users.yaml'), `${users.join('\n')}\n`);
  // The storm users each get their own argon2id hash: a cached login must not be a shared-hash artefact.
  const storm = ['users:'];
  for (let i = 0; i < STORM_USERS; i++) storm.push(`  s${i}:\n    hash: ${await hashPassword(`pw-${i}`)}`);
  writeFileSync(join(dir, 'storm.yaml'), `${storm.join('\n')}\n`);
  writeFileSync(
    join(dir, 'policy.yaml'),
    "version: 1\nbindings: [{ when: { username: 'u*' }, roles: [device] }]\nroles:\n  device:\n    rules:\n      - { effect: allow, actions: all, topics: 'devices/${clientid}/#' }\n      - { effect: deny, actions: publish, topics: 'devices/${clientid}/admin/#' }\n",
  );
  const config = (users, cache) =>
    `listen: { host: 127.0.0.1, port: 0 }\nlog: { level: warn }\npolicy: { file: policy.yaml, watch: false }\nauthenticators: [{ type: password, file: ${users}${cache ? '' : ', cache: false'} }]\nadapters: { goAuth: { responseMode: json } }\n# Raw throughput: the defenses (bench/defenses) would rate-limit this storm from one address.\ndefenses: { enabled: false }\n`;
  writeFileSync(join(dir, 'warden.yaml'), config('users.yaml', true));
  writeFileSync(join(dir, 'storm-cached.yaml'), config('storm.yaml', true));
  writeFileSync(join(dir, 'storm-uncached.yaml'), config('storm.yaml', false));

  const rows = [];
  const bare = await start('bare');
  rows.push(
    await load('bare node:http (constant JSON)', bare, () => ({ method: 'POST', path: '/', body: '{}' })),
  );
  await stop(bare);

  const warden = await start(join(dir, 'warden.yaml'));
  let n = 0;
  const authz = () => {
    const i = n++ % PRINCIPALS;
    return JSON.stringify({
      username: `u${i}`,
      clientid: `c${i}`,
      topic: `devices/c${i}/t/${n % 7}`,
      action: 'publish',
      qos: '1',
      retain: 'false',
    });
  };
  const acl = () => {
    const i = n++ % PRINCIPALS;
    return JSON.stringify({
      acc: 2,
      clientid: `c${i}`,
      topic: `devices/c${i}/t/${n % 7}`,
      username: `u${i}`,
    });
  };
  // No logins: a password-only chain proves usernames, so the server rebuilds each session from the
  // users file (packages/server README, "Sessions"). Make sure the rows measure allows, not refusals.
  const probe = await fetch(`${warden.url}/emqx/authz`, {
    method: 'POST',
    body: authz(),
    headers: { 'content-type': 'application/json' },
  });
  if ((await probe.json()).result !== 'allow')
    throw new Error('authz is refused: does every authenticator prove usernames?');
  // Warm the caches (decision cache, policy per-principal templates), then measure.
  await load('warm-up', warden, () => ({ method: 'POST', path: '/emqx/authz', body: authz() }), 2);
  rows.push(
    await load('/emqx/authz (10k principals)', warden, () => ({
      method: 'POST',
      path: '/emqx/authz',
      body: authz(),
    })),
  );
  // Latency where it matters: at 80 % of the peak just measured, not at saturation.
  rows.push(
    await load(
      '/emqx/authz at 80 % of peak',
      warden,
      () => ({ method: 'POST', path: '/emqx/authz', body: authz() }),
      seconds,
      Math.round(rows.at(-1).rps * 0.8),
    ),
  );
  await load('warm-up', warden, () => ({ method: 'POST', path: '/mosquitto/acl', body: acl() }), 2);
  rows.push(
    await load('/mosquitto/acl (10k principals)', warden, () => ({
      method: 'POST',
      path: '/mosquitto/acl',
      body: acl(),
    })),
  );
  rows.push(
    await load(
      '/mosquitto/acl at 80 % of peak',
      warden,
      () => ({ method: 'POST', path: '/mosquitto/acl', body: acl() }),
      seconds,
      Math.round(rows.at(-1).rps * 0.8),
    ),
  );
  await stop(warden);

  for (const mode of ['uncached', 'cached']) {
    const server = await start(join(dir, `storm-${mode}.yaml`));
    let k = 0;
    const login = () => {
      const i = k++ % STORM_USERS;
      return JSON.stringify({ username: `s${i}`, password: `pw-${i}`, clientid: `s${i}-${k}` });
    };
    // Cached: every user logged in once before the storm (the verification cache holds 30 s).
    if (mode === 'cached') {
      for (let i = 0; i < STORM_USERS; i++) {
        await fetch(`${server.url}/emqx/authn`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: login(),
        });
      }
    }
    rows.push(
      await load(`/emqx/authn argon2id storm, ${mode}`, server, () => ({
        method: 'POST',
        path: '/emqx/authn',
        body: login(),
      })),
    );
    await stop(server);
  }

  console.log(`\n${seconds}s per row, ${connections} connections, Node ${process.version}\n`);
  console.log('| target | req/s | p50 ms | p99 ms | server CPU µs/req | RSS MB | errors/non-2xx |');
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  for (const r of rows)
    console.log(`| ${r.name} | ${r.rps} | ${r.p50} | ${r.p99} | ${r.cpu} | ${r.rss} | ${r.bad} |`);
  const base = rows[0].rps;
  for (const r of [rows[1], rows[3]]) {
    console.log(
      `${r.name}: ${(r.rps / base).toFixed(2)} of bare req/s, bare CPU/req ÷ ours ${(rows[0].cpu / r.cpu).toFixed(2)}`,
    );
  }
  console.log(`load average: ${readFileSync('/proc/loadavg', 'utf8').trim()}`);
}

function start(target) {
  return new Promise((resolve, reject) => {
    const proc = fork(new URL(import.meta.url).pathname, ['child', target], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    proc.once('message', (m) => resolve({ proc, url: m.url }));
    proc.once('exit', (code) => reject(new Error(`target exited with ${code}`)));
  });
}

async function stop({ proc }) {
  proc.removeAllListeners('exit');
  proc.kill('SIGTERM');
  await new Promise((r) => proc.once('exit', r));
}

/** The target's RSS and its CPU time so far (µs, user + system). */
function usage({ proc }) {
  return new Promise((resolve) => {
    proc.once('message', (m) => resolve(m));
    proc.send('usage');
  });
}

async function load(name, target, next, duration = seconds, overallRate = undefined) {
  const before = await usage(target);
  const result = await autocannon({
    url: target.url,
    connections,
    duration,
    ...(overallRate && { overallRate }),
    headers: { 'content-type': 'application/json' },
    requests: [{ setupRequest: (req) => ({ ...req, ...next() }) }],
  });
  const after = await usage(target);
  return {
    name,
    rps: Math.round(result.requests.average),
    p50: result.latency.p50,
    p99: result.latency.p99,
    rss: Math.round(after.rss / 1e6),
    // Server CPU per answered request: what the server costs, whatever the load generator gets.
    cpu: ((after.cpu - before.cpu) / Math.max(1, result.requests.total)).toFixed(1),
    bad: result.errors + result.non2xx,
  };
}

async function child(target) {
  let url;
  if (target === 'bare') {
    const { createServer } = await import('node:http');
    const server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"result":"allow"}');
      });
    });
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${server.address().port}`;
  } else {
    const { createWardenServer, loadServerConfig } = await import('../../packages/server/dist/index.js');
    const server = await createWardenServer(await loadServerConfig(target));
    url = await server.listen();
  }
  process.on('message', () => {
    const { user, system } = process.cpuUsage();
    process.send({ rss: process.memoryUsage().rss, cpu: user + system });
  });
  process.send({ url });
}
