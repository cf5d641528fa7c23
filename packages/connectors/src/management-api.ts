import { ConnectorError } from './connector-error.js';

/** Where a management API is and how to log in to it. */
export interface ManagementApiOptions {
  /** Base URL, e.g. `http://127.0.0.1:15672/`; a path prefix is kept. */
  readonly url: string | URL;
  /** Value of the `Authorization` header. */
  readonly authorization: string;
  /** Per-request timeout in ms. Default 5,000. */
  readonly timeoutMs?: number;
}

/**
 * A minimal client of a broker's HTTP management API: sends one request, maps a network failure or a
 * timeout to `ERR_CONNECTOR_UNREACHABLE`, a status outside `accept` to `ERR_CONNECTOR_REQUEST`.
 */
export class ManagementApi {
  readonly #base: URL;
  readonly #authorization: string;
  readonly #timeoutMs: number;

  constructor(options: ManagementApiOptions) {
    const base = new URL(options.url);
    if (!base.pathname.endsWith('/')) base.pathname += '/';
    this.#base = base;
    this.#authorization = options.authorization;
    this.#timeoutMs = options.timeoutMs ?? 5000;
  }

  /** `path` is relative to the base URL (no leading slash); its variable parts must be encoded by the caller. */
  async request(
    method: 'DELETE',
    path: string,
    accept: readonly number[],
    headers: Readonly<Record<string, string>> = {},
  ): Promise<number> {
    const url = new URL(path, this.#base);
    const what = `${method} ${url.pathname}`;
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers: { accept: 'application/json', authorization: this.#authorization, ...headers },
        signal: AbortSignal.timeout(this.#timeoutMs),
        redirect: 'error',
      });
    } catch (error) {
      throw new ConnectorError('ERR_CONNECTOR_UNREACHABLE', `${what}: no answer`, { cause: error });
    }
    // Read the body so the connection can be reused; its content does not matter.
    await response.arrayBuffer().catch(() => undefined);
    if (!accept.includes(response.status)) {
      throw new ConnectorError('ERR_CONNECTOR_REQUEST', `${what} answered ${response.status}`, {
        status: response.status,
      });
    }
    return response.status;
  }
}

/** `Authorization: Basic …` for a user name and password (RFC 7617, UTF-8). */
export function basicAuthorization(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`;
}
