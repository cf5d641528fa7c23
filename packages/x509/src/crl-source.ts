import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { ConfigError } from '@mqtt-warden/core';
import { x509 } from './peculiar.js';

/** Options of {@link CrlSource.create}. */
export interface CrlSourceOptions {
  /** CRLs given directly, PEM (one or more blocks) or DER. */
  readonly crls?: readonly (string | Uint8Array)[];
  /** CRL files (PEM or DER); re-read on every refresh. A file missing at start is a configuration error. */
  readonly files?: readonly string[];
  /** CRL distribution point URLs (http/https), fetched at start and on every refresh. */
  readonly urls?: readonly string[];
  /** Background refresh period; default 15 minutes. `0` disables it (call `refresh()` yourself). */
  readonly refreshIntervalMs?: number;
  /** Timeout of one URL fetch; default 10 s. */
  readonly timeoutMs?: number;
  /** Largest CRL accepted from a URL; default 20 MB. */
  readonly maxBytes?: number;
  /** Failed loads (unreachable URL, unreadable file, bad CRL). The previous CRLs of that location are kept. */
  readonly onError?: (error: Error, location: string) => void;
}

interface LoadedCrl {
  readonly crl: x509.X509Crl;
  /** Hex of the issuer name DER, compared with issuers' subject names. */
  readonly issuer: string;
}

// RFC 7468 says `X509 CRL`; some tools (including @peculiar/x509) write `CRL`.
const PEM_CRL = /-----BEGIN (?:X509 )?CRL-----([A-Za-z0-9+/=\s]+?)-----END (?:X509 )?CRL-----/g;

/**
 * The certificate revocation lists that a {@link createCertificateVerifier} checks against: given directly,
 * read from files or fetched from URLs, and refreshed in the background. A CRL is used for an issuer only
 * when its signature verifies with that issuer's key. An older CRL never replaces a newer one from the
 * same location (no rollback by a replayed download).
 *
 * @example
 * ```ts
 * const crls = await CrlSource.create({ urls: ['http://pki.example.com/device-ca.crl'], onError: (e, at) => log.warn({ at }, e.message) });
 * const verifier = createCertificateVerifier({ trustAnchors: [rootPem], revocation: { crls } });
 * ```
 */
export class CrlSource {
  readonly #options: CrlSourceOptions;
  readonly #byLocation = new Map<string, readonly LoadedCrl[]>();
  readonly #listeners = new Set<() => void>();
  readonly #verified = new WeakMap<x509.X509Crl, Map<string, boolean>>();
  #all: readonly LoadedCrl[] = [];
  #digest = '';
  #timer: NodeJS.Timeout | undefined;

  private constructor(options: CrlSourceOptions) {
    this.#options = options;
  }

  /**
   * Loads every configured CRL once, then starts the background refresh.
   * @throws {ConfigError} when a given CRL or CRL file cannot be parsed or read.
   */
  static async create(options: CrlSourceOptions): Promise<CrlSource> {
    const source = new CrlSource(options);
    (options.crls ?? []).forEach((crl, index) => {
      source.#store(`crls[${index}]`, parseCrls(crl, `crls[${index}]`));
    });
    for (const file of options.files ?? []) source.#store(file, parseCrls(await readCrlFile(file), file));
    await Promise.all((options.urls ?? []).map((url) => source.#load(url)));
    source.#publish();
    const interval = options.refreshIntervalMs ?? 15 * 60_000;
    if (interval > 0) {
      source.#timer = setInterval(() => void source.refresh(), interval);
      source.#timer.unref();
    }
    return source;
  }

  /** Re-reads files and re-fetches URLs now; never throws (failures go to `onError`). */
  async refresh(): Promise<void> {
    const { files = [], urls = [] } = this.#options;
    await Promise.all([...files, ...urls].map((location) => this.#load(location)));
    this.#publish();
  }

  /**
   * The newest CRL issued by `issuer` (same name, signature verified with its key, issuer allowed to sign CRLs),
   * or undefined.
   */
  async find(issuer: x509.X509Certificate): Promise<x509.X509Crl | undefined> {
    const name = Buffer.from(issuer.subjectName.toArrayBuffer()).toString('hex');
    const usage = issuer.getExtension(x509.KeyUsagesExtension);
    if (usage && (usage.usages & x509.KeyUsageFlags.cRLSign) === 0) return undefined;
    let newest: x509.X509Crl | undefined;
    for (const { crl, issuer: crlIssuer } of this.#all) {
      if (crlIssuer !== name || (newest && newest.thisUpdate >= crl.thisUpdate)) continue;
      if (await this.#signedBy(crl, issuer)) newest = crl;
    }
    return newest;
  }

  /** Registers a listener called when the set of CRLs changes; returns an unsubscribe function. */
  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Stops the background refresh. */
  close(): void {
    clearInterval(this.#timer);
  }

  async #signedBy(crl: x509.X509Crl, issuer: x509.X509Certificate): Promise<boolean> {
    const key = Buffer.from(await issuer.getThumbprint('SHA-256')).toString('hex');
    let results = this.#verified.get(crl);
    if (!results) {
      results = new Map();
      this.#verified.set(crl, results);
    }
    let ok = results.get(key);
    if (ok === undefined) {
      ok = await crl.verify({ publicKey: issuer }).catch(() => false);
      results.set(key, ok);
    }
    return ok;
  }

  async #load(location: string): Promise<void> {
    try {
      const data =
        location.startsWith('http://') || location.startsWith('https://')
          ? await this.#fetch(location)
          : await readFile(location);
      const fresh = parseCrls(data, location);
      const newest = (list: readonly x509.X509Crl[]) =>
        Math.max(0, ...list.map((crl) => crl.thisUpdate.getTime()));
      const current = (this.#byLocation.get(location) ?? []).map(({ crl }) => crl);
      if (newest(fresh) < newest(current)) {
        throw new Error('the CRL is older than the one already loaded; kept the newer');
      }
      this.#store(location, fresh);
    } catch (error) {
      this.#options.onError?.(error instanceof Error ? error : new Error(String(error)), location);
    }
  }

  async #fetch(url: string): Promise<Uint8Array> {
    const response = await fetch(url, { signal: AbortSignal.timeout(this.#options.timeoutMs ?? 10_000) });
    if (response.status !== 200) throw new Error(`HTTP ${response.status}`);
    const body = new Uint8Array(await response.arrayBuffer());
    if (body.length > (this.#options.maxBytes ?? 20_000_000)) throw new Error('the CRL is too large');
    return body;
  }

  #store(location: string, crls: readonly x509.X509Crl[]): void {
    this.#byLocation.set(
      location,
      crls.map((crl) => ({ crl, issuer: Buffer.from(crl.issuerName.toArrayBuffer()).toString('hex') })),
    );
  }

  #publish(): void {
    this.#all = [...this.#byLocation.values()].flat();
    const digest = createHash('sha256');
    for (const { crl } of this.#all) digest.update(new Uint8Array(crl.rawData));
    const next = digest.digest('hex');
    if (next === this.#digest) return;
    this.#digest = next;
    for (const listener of this.#listeners) listener();
  }
}

function parseCrls(data: string | Uint8Array, location: string): x509.X509Crl[] {
  try {
    const text = typeof data === 'string' ? data : Buffer.from(data).toString('latin1');
    if (!text.includes('-----BEGIN'))
      return [new x509.X509Crl(typeof data === 'string' ? Buffer.from(data, 'latin1') : data)];
    const crls = [...text.matchAll(PEM_CRL)].map(
      ([, body = '']) => new x509.X509Crl(Buffer.from(body, 'base64')),
    );
    if (crls.length === 0) throw new Error('no "X509 CRL" PEM block');
    return crls;
  } catch (cause) {
    throw new ConfigError(`${location} is not a valid CRL (PEM or DER)`, { cause });
  }
}

async function readCrlFile(file: string): Promise<Uint8Array> {
  try {
    return await readFile(file);
  } catch (cause) {
    throw new ConfigError(`cannot read the CRL file ${file}`, { cause });
  }
}
