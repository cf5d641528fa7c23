import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider, { errors } from 'oidc-provider';

/** Scopes every test client may ask for. */
export const SCOPES = [
  'mqtt:publish:sensors/${clientid}/temp',
  'mqtt:read:commands/${clientid}/#',
  'mqtt:receive:broadcast/#',
  'fleet',
].join(' ');

export const OPAQUE_RESOURCE = 'urn:mqtt:opaque';
export const JWT_RESOURCE = 'urn:mqtt:jwt';

export const CLIENTS = {
  basic: { id: 'sensor-1', secret: 'sensor-1 secret: with %, colon and space' },
  post: { id: 'sensor-2', secret: 'sensor-2-secret-0123456789' },
  broker: { id: 'mqtt-broker', secret: 'broker-secret-0123456789' },
  brokerPost: { id: 'mqtt-broker-post', secret: 'broker-post-secret-0123456789' },
} as const;

/** panva/oidc-provider in-process: client credentials, opaque tokens with introspection, RFC 9068 JWTs. */
export class AuthorizationServer {
  issuer = '';
  private server?: Server;
  /** The AS's RS256 key (kid `as-key-1`), so tests can forge tokens the AS would not issue. */
  signingKey?: KeyObject;
  ttlSeconds: number;

  constructor(ttlSeconds = 300) {
    this.ttlSeconds = ttlSeconds;
  }

  async start(): Promise<this> {
    const server = createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    this.issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    this.signingKey = privateKey;
    const ttl = this.ttlSeconds;
    const client = (id: string, secret: string, extra: object = {}) => ({
      client_id: id,
      client_secret: secret,
      grant_types: ['client_credentials'],
      redirect_uris: [],
      response_types: [],
      scope: SCOPES,
      ...extra,
    });
    const provider = new Provider(this.issuer, {
      clients: [
        client(CLIENTS.basic.id, CLIENTS.basic.secret),
        client(CLIENTS.post.id, CLIENTS.post.secret, { token_endpoint_auth_method: 'client_secret_post' }),
        // The resource server: it only introspects.
        {
          client_id: CLIENTS.broker.id,
          client_secret: CLIENTS.broker.secret,
          grant_types: [],
          redirect_uris: [],
          response_types: [],
        },
        {
          client_id: CLIENTS.brokerPost.id,
          client_secret: CLIENTS.brokerPost.secret,
          token_endpoint_auth_method: 'client_secret_post',
          grant_types: [],
          redirect_uris: [],
          response_types: [],
        },
      ],
      scopes: SCOPES.split(' '),
      jwks: {
        keys: [{ ...privateKey.export({ format: 'jwk' }), kid: 'as-key-1', use: 'sig', alg: 'RS256' }],
      },
      ttl: { ClientCredentials: ttl },
      features: {
        devInteractions: { enabled: false },
        clientCredentials: { enabled: true },
        // Only the resource servers may introspect.
        introspection: {
          enabled: true,
          allowedPolicy: async (_ctx: unknown, client: { clientId: string }) =>
            client.clientId.startsWith('mqtt-broker'),
        },
        resourceIndicators: {
          enabled: true,
          defaultResource: () => OPAQUE_RESOURCE,
          useGrantedResource: () => true,
          getResourceServerInfo: (_ctx: unknown, resource: string) => {
            if (resource !== OPAQUE_RESOURCE && resource !== JWT_RESOURCE) throw new errors.InvalidTarget();
            return {
              audience: resource,
              scope: SCOPES,
              accessTokenTTL: ttl,
              ...(resource === JWT_RESOURCE
                ? { accessTokenFormat: 'jwt', jwt: { sign: { alg: 'RS256' } } }
                : { accessTokenFormat: 'opaque' }),
            };
          },
        },
      },
    });
    server.on('request', provider.callback());
    this.server = server;
    return this;
  }

  get tokenEndpoint() {
    return `${this.issuer}/token`;
  }
  get introspectionEndpoint() {
    return `${this.issuer}/token/introspection`;
  }
  get jwksUri() {
    return `${this.issuer}/jwks`;
  }

  /** Gets a token for `client` straight from the token endpoint (Basic auth). */
  async token(resource: string, scope = SCOPES, client: { id: string; secret: string } = CLIENTS.basic) {
    const enc = (s: string) => new URLSearchParams([['', s]]).toString().slice(1);
    const response = await fetch(this.tokenEndpoint, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${enc(client.id)}:${enc(client.secret)}`).toString('base64')}`,
      },
      body: new URLSearchParams({ grant_type: 'client_credentials', scope, resource }),
    });
    const json = (await response.json()) as { access_token: string; expires_in: number; error?: string };
    if (response.status !== 200) throw new Error(`token request failed: ${JSON.stringify(json)}`);
    return json.access_token;
  }

  /** An RS256 JWT signed with the AS key, built with node:crypto (not jose). */
  forge(header: Record<string, unknown>, claims: Record<string, unknown>): string {
    const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const input = `${enc({ alg: 'RS256', kid: 'as-key-1', ...header })}.${enc(claims)}`;
    return `${input}.${sign('sha256', Buffer.from(input), this.signingKey!).toString('base64url')}`;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    this.server.close();
    await once(this.server, 'close');
  }
}
