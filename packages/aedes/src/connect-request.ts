import { Socket } from 'node:net';
import type { DetailedPeerCertificate, TLSSocket } from 'node:tls';
import type { ConnectRequest, Transport } from '@mqtt-warden/core';
import type { Client } from 'aedes';

/** How {@link connectRequestOf} reads what the socket alone does not tell. */
export interface ConnectRequestOptions {
  /**
   * The TLS-PSK identity a socket's client presented; Node does not expose it after the handshake, so
   * the server's `pskCallback` has to record it (`pskIdentityOf` from `@mqtt-warden/psk` does).
   */
  readonly pskIdentityOf?: (socket: object) => string | undefined;
}

/**
 * The neutral {@link ConnectRequest} for an Aedes client in its `authenticate` hook: CONNECT fields
 * plus what the connection tells (remote address, TLS, the peer certificate chain as DER, TLS-PSK
 * identity, SNI). Works for TCP, TLS and WebSocket connections (for WebSocket the HTTP upgrade
 * request's socket is read).
 *
 * @example
 * ```ts
 * broker.authenticate = (client, username, password, done) => {
 *   const request = connectRequestOf(client, username, password, { pskIdentityOf });
 *   guard.authenticate(request).then((result) => done(null, result.ok));
 * };
 * ```
 */
export function connectRequestOf(
  client: Client,
  username: string | undefined,
  password: Uint8Array | undefined,
  options: ConnectRequestOptions = {},
): ConnectRequest {
  return {
    clientId: client.id,
    username,
    password,
    protocolVersion: client.version,
    transport: transportOf(client, options),
  };
}

/** The peer's IP address (IPv4-mapped IPv6 addresses unmapped), as {@link connectRequestOf} reports it. */
export function remoteAddressOf(client: Client): string | undefined {
  return unmapIpv4(connDetailsOf(client)?.ipAddress ?? socketOf(client)?.remoteAddress);
}

function transportOf(client: Client, options: ConnectRequestOptions): Transport {
  const socket = socketOf(client);
  const remoteAddress = remoteAddressOf(client);
  const remotePort = connDetailsOf(client)?.port ?? socket?.remotePort;
  if (!isTls(socket)) return { tls: false, remoteAddress, remotePort };
  return {
    tls: true,
    remoteAddress,
    remotePort,
    peerCertificates: peerChain(socket),
    pskIdentity: options.pskIdentityOf?.(socket),
    serverName: typeof socket.servername === 'string' ? socket.servername : undefined,
  };
}

/** A WebSocket client's `conn` is a stream over the HTTP upgrade request's socket. */
function socketOf(client: Client): Socket | undefined {
  return client.conn instanceof Socket ? client.conn : client.req?.socket;
}

/** aedes-server-factory attaches the real peer (PROXY protocol, X-Forwarded-For) as `connDetails`. */
function connDetailsOf(client: Client): { ipAddress?: string; port?: number } | undefined {
  return (client as { connDetails?: { ipAddress?: string; port?: number } }).connDetails;
}

function isTls(socket: Socket | undefined): socket is TLSSocket {
  return socket !== undefined && (socket as Partial<TLSSocket>).encrypted === true;
}

/** The chain the client sent, leaf first, as DER; undefined when it sent no certificate. */
function peerChain(socket: TLSSocket): Uint8Array[] | undefined {
  const chain: Uint8Array[] = [];
  const seen = new Set<string>();
  let cert: DetailedPeerCertificate | undefined = socket.getPeerCertificate(true);
  // A self-signed issuer points to itself; the fingerprint set also guards against any other cycle.
  while (cert?.raw !== undefined && !seen.has(cert.fingerprint256)) {
    seen.add(cert.fingerprint256);
    chain.push(cert.raw);
    cert = cert.issuerCertificate;
  }
  return chain.length > 0 ? chain : undefined;
}

/** `::ffff:192.0.2.1` (an IPv4 peer on a dual-stack socket) → `192.0.2.1`, so CIDR rules see IPv4. */
function unmapIpv4(address: string | undefined): string | undefined {
  return address?.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}
