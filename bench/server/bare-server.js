// The bench's baseline: node:http reading the body and answering each route's allow body, nothing else.
import { createServer } from 'node:http';

const answers = {
  '/emqx/authz': ['application/json; charset=utf-8', '{"result":"allow"}'],
  '/mosquitto/acl': ['application/json; charset=utf-8', '{"ok":true,"error":""}'],
  '/rabbitmq/topic': ['text/plain; charset=utf-8', 'allow'],
};
const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    const [type, body] = answers[req.url] ?? answers['/emqx/authz'];
    res.writeHead(200, { 'content-type': type });
    res.end(body);
  });
});
server.listen(0, '127.0.0.1', () =>
  console.log(`bare node:http listening on http://127.0.0.1:${server.address().port}`),
);
process.once('SIGTERM', () => server.close(() => process.exit(0)));
