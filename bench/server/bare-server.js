// The bench's baseline: node:http reading the body and answering each route's allow body, nothing else.
// With --parse it also parses each body with the platform's own parser (JSON.parse, URLSearchParams) and
// answers in a microtask: what reading a request costs before any decision, the floor of any real server.
import { createServer } from 'node:http';

// With their length, as the warden answers (chunked, the bare server spent ~2 % more CPU here, within noise).
const answers = {
  '/emqx/authz': ['application/json; charset=utf-8', '{"result":"allow"}'],
  '/mosquitto/acl': ['application/json; charset=utf-8', '{"ok":true,"error":""}'],
  '/rabbitmq/topic': ['text/plain; charset=utf-8', 'allow'],
};
const parse = process.argv.includes('--parse');
const server = createServer((req, res) => {
  const [type, body] = answers[req.url] ?? answers['/emqx/authz'];
  const answer = () => {
    res.writeHead(200, { 'content-type': type, 'content-length': body.length });
    res.end(body);
  };
  if (!parse) {
    req.resume();
    return void req.on('end', answer);
  }
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    const text = Buffer.concat(chunks).toString('utf8');
    const json = req.headers['content-type'] === 'application/json';
    const fields = json ? JSON.parse(text) : new URLSearchParams(text);
    if (fields) queueMicrotask(answer);
  });
});
server.listen(0, '127.0.0.1', () =>
  console.log(`bare node:http listening on http://127.0.0.1:${server.address().port}`),
);
process.once('SIGTERM', () => server.close(() => process.exit(0)));
