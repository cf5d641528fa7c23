import { WardenError } from '@mqtt-warden/core';

/** A failed admin API call: the API's error code and message, or `ERR_ADMIN_UNREACHABLE`. */
export class AdminClientError extends WardenError {
  readonly status: number | undefined;

  constructor(code: string, message: string, status?: number) {
    super(code, message);
    this.status = status;
  }
}

/**
 * A small client of the admin API for the CLI: JSON in and out, the API's typed errors thrown as
 * {@link AdminClientError}. The token goes in the Authorization header only, never in a message.
 *
 * @example
 * ```ts
 * const admin = new AdminClient('http://127.0.0.1:9443', process.env.MQTT_WARDEN_ADMIN_TOKEN!);
 * const device = await admin.call('POST', '/devices/sensor-1:disable', {});
 * ```
 */
export class AdminClient {
  readonly #base: string;
  readonly #token: string;

  constructor(url: string, token: string) {
    this.#base = `${url.replace(/\/+$/, '').replace(/\/admin\/v1$/, '')}/admin/v1`;
    this.#token = token;
  }

  /** Sends one request; `body` is JSON, or a stream sent as is with `contentType`. */
  async call<T = unknown>(
    method: string,
    path: string,
    body?: unknown,
    options: { contentType?: string; idempotencyKey?: string } = {},
  ): Promise<T> {
    const streamed = body instanceof ReadableStream;
    const send = () =>
      fetch(`${this.#base}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${this.#token}`,
          ...(body === undefined ? {} : { 'content-type': options.contentType ?? 'application/json' }),
          ...(options.idempotencyKey ? { 'idempotency-key': options.idempotencyKey } : {}),
        },
        body: body === undefined ? undefined : streamed ? body : JSON.stringify(body),
        ...(streamed ? { duplex: 'half' } : {}),
      } as RequestInit);
    let response: Response;
    try {
      response = await send().catch(async (error: unknown) => {
        // The answer may be lost after the write committed: only a request with an idempotency key is
        // sent again, and the server then replays the first result instead of writing twice.
        if (!options.idempotencyKey || streamed) throw error;
        await new Promise((resolve) => setTimeout(resolve, 500));
        return send();
      });
    } catch (error) {
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      throw new AdminClientError(
        'ERR_ADMIN_UNREACHABLE',
        `cannot reach the admin API at ${this.#base} (${cause?.code ?? cause?.message ?? (error as Error).message}): check --url or MQTT_WARDEN_ADMIN_URL`,
      );
    }
    const text = await response.text();
    let json: unknown;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    if (!response.ok) {
      const error = (json as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
      throw new AdminClientError(
        typeof error?.code === 'string' ? error.code : 'ERR_ADMIN_HTTP',
        typeof error?.message === 'string' ? error.message : `the admin API answered HTTP ${response.status}`,
        response.status,
      );
    }
    return json as T;
  }
}
