import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A scriptable RFC 7662 endpoint: counts requests, answers `answer` (a string as written), or stalls. */
export class FakeIntrospection {
  requests = 0;
  answer: object | string = { active: false };
  status = 200;
  delayMs = 0;
  url = '';
  private server?: Server;

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      this.requests++;
      req.resume();
      const reply = () =>
        res
          .writeHead(this.status, { 'content-type': 'application/json' })
          .end(typeof this.answer === 'string' ? this.answer : JSON.stringify(this.answer));
      if (this.delayMs > 0) setTimeout(reply, this.delayMs);
      else reply();
    });
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/introspect`;
    return this;
  }

  async stop(): Promise<void> {
    if (!this.server?.listening) return;
    this.server.closeAllConnections();
    this.server.close();
    await once(this.server, 'close');
  }
}
