import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { isIP, type Socket, connect as tcpConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { AuditSink, QueuedRecord } from './audit-sink.js';
import { type Facility, formatRfc5424 } from './rfc5424.js';

export interface SyslogSinkOptions {
  readonly host: string;
  readonly port?: number;
  /** `udp` (RFC 5426), `tcp` or `tls` (RFC 6587 / RFC 5425 octet counting). Default `udp`. */
  readonly protocol?: 'udp' | 'tcp' | 'tls';
  /** PEM CA certificates that sign the collector's certificate (TLS); the system's CAs otherwise. */
  readonly ca?: string | Buffer;
  /** Default `authpriv`. */
  readonly facility?: Facility;
  /** A write that takes longer fails and is retried on a new connection (default 10 s). */
  readonly timeoutMs?: number;
}

/**
 * RFC 5424 messages to a syslog collector over UDP, TCP or TLS. Over TCP and TLS each message is framed
 * by octet counting (`LENGTH SP MESSAGE`); a broken connection is reopened by the next retry.
 *
 * @example
 * ```ts
 * const sink = new SyslogSink({ host: 'siem.example', port: 6514, protocol: 'tls', ca: await readFile('ca.pem') });
 * ```
 */
export class SyslogSink implements AuditSink {
  readonly name = 'syslog';
  readonly batchSize = 200;
  readonly #options: SyslogSinkOptions;
  readonly #protocol: 'udp' | 'tcp' | 'tls';
  readonly #port: number;
  #stream: Socket | undefined;
  #udp: UdpSocket | undefined;

  constructor(options: SyslogSinkOptions) {
    this.#options = options;
    this.#protocol = options.protocol ?? 'udp';
    this.#port = options.port ?? (this.#protocol === 'tls' ? 6514 : 514);
  }

  async send(batch: readonly QueuedRecord[]): Promise<void> {
    const facility = this.#options.facility ?? 'authpriv';
    const messages = batch.map((item) =>
      Buffer.from(formatRfc5424(item.record, facility, item.line), 'utf8'),
    );
    if (this.#protocol === 'udp') {
      for (const message of messages) await this.#datagram(message);
      return;
    }
    const framed = Buffer.concat(messages.flatMap((m) => [Buffer.from(`${m.length} `), m]));
    const socket = this.#stream ?? (await this.#connect());
    await this.#write(socket, framed);
  }

  async close(): Promise<void> {
    this.#stream?.end();
    this.#stream = undefined;
    this.#udp?.close();
    this.#udp = undefined;
  }

  #datagram(message: Buffer): Promise<void> {
    if (!this.#udp) {
      const socket = createSocket(this.#options.host.includes(':') ? 'udp6' : 'udp4');
      // A broken socket is dropped; the retry opens another.
      socket.on('error', () => {
        socket.close();
        if (this.#udp === socket) this.#udp = undefined;
      });
      socket.unref();
      this.#udp = socket;
    }
    const udp = this.#udp;
    return new Promise((resolve, reject) =>
      udp.send(message, this.#port, this.#options.host, (error) => (error ? reject(error) : resolve())),
    );
  }

  #connect(): Promise<Socket> {
    const { host, ca } = this.#options;
    const timeout = this.#options.timeoutMs ?? 10_000;
    return new Promise((resolve, reject) => {
      const socket =
        this.#protocol === 'tls'
          ? tlsConnect({
              host,
              port: this.#port,
              ca,
              servername: isIP(host) ? undefined : host,
              rejectUnauthorized: true,
            })
          : tcpConnect({ host, port: this.#port });
      const timer = setTimeout(() => socket.destroy(new Error('syslog connect timed out')), timeout);
      socket.once(this.#protocol === 'tls' ? 'secureConnect' : 'connect', () => {
        clearTimeout(timer);
        socket.off('error', reject);
        // A later error or close only forgets the socket; the next send reconnects.
        socket.on('error', () => {});
        socket.on('close', () => {
          if (this.#stream === socket) this.#stream = undefined;
        });
        socket.unref();
        this.#stream = socket;
        resolve(socket);
      });
      socket.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
  }

  #write(socket: Socket, data: Buffer): Promise<void> {
    const timeout = this.#options.timeoutMs ?? 10_000;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error('syslog write timed out'));
      }, timeout);
      socket.write(data, (error) => {
        clearTimeout(timer);
        if (error) {
          socket.destroy();
          reject(error);
        } else resolve();
      });
    });
  }
}
