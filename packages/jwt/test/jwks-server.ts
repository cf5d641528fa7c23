import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type CryptoKey, exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';

export interface SigningKey {
  readonly kid: string;
  readonly privateKey: CryptoKey;
  readonly jwk: JWK;
}

/** A local JWKS endpoint whose keys rotate and which can fail on demand. */
export class JwksServer {
  mode: 'up' | 'error' | 'slow' = 'up';
  requests = 0;
  keys: SigningKey[] = [];
  private server?: Server;
  url = '';

  async start(): Promise<this> {
    this.server = createServer((_req, res) => {
      this.requests++;
      if (this.mode === 'error') {
        res.writeHead(503).end('down');
        return;
      }
      const body = JSON.stringify({ keys: this.keys.map((k) => k.jwk) });
      const send = () => res.writeHead(200, { 'content-type': 'application/json' }).end(body);
      if (this.mode === 'slow') setTimeout(send, 1_000);
      else send();
    });
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/jwks`;
    return this;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    this.server.close();
    await once(this.server, 'close');
  }

  /** Adds a fresh ES256 key; `keep` older keys stay published. */
  async rotate(kid: string, keep = 1): Promise<SigningKey> {
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' };
    const key = { kid, privateKey, jwk };
    this.keys = [key, ...this.keys.slice(0, keep)];
    return key;
  }
}

export function signWith(key: SigningKey, claims: Record<string, unknown> = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ sub: 'device-1', iss: 'https://idp.test', aud: 'mqtt', exp: now + 300, ...claims })
    .setProtectedHeader({ alg: 'ES256', kid: key.kid })
    .sign(key.privateKey);
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
