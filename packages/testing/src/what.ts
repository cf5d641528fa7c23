import type { AccessRequest, QoS } from '@mqtt-warden/core';
import { strictObject } from '@mqtt-warden/policy';
import { z } from 'zod';

/** One request, written as in suites: `{ publish: 'a/b', qos: 1 }`, `{ subscribe: 'a/#' }`, `{ receive: 'a/b' }` or `'connect'`. */
export type What =
  | 'connect'
  | { readonly publish: string; readonly qos?: QoS; readonly retain?: boolean }
  | { readonly subscribe: string; readonly qos?: QoS }
  | { readonly receive: string; readonly qos?: QoS; readonly retain?: boolean };

const qos = z.literal([0, 1, 2]).optional();
export const WhatSchema = z.union(
  [
    z.literal('connect'),
    strictObject({ publish: z.string(), qos, retain: z.boolean().optional() }),
    strictObject({ subscribe: z.string(), qos }),
    strictObject({ receive: z.string(), qos, retain: z.boolean().optional() }),
  ],
  {
    error:
      'write "connect" or one of { publish: TOPIC }, { subscribe: FILTER }, { receive: TOPIC }, with optional qos and retain',
  },
);

/** The access request for a {@link What} (undefined for `connect`). */
export function toRequest(what: What): AccessRequest | undefined {
  if (what === 'connect') return undefined;
  if ('publish' in what)
    return { action: 'publish', topic: what.publish, qos: what.qos, retain: what.retain };
  if ('receive' in what)
    return { action: 'receive', topic: what.receive, qos: what.qos, retain: what.retain };
  // The policy strips a `$share/{group}/` or `$queue/` prefix itself.
  return { action: 'subscribe', topic: what.subscribe, qos: what.qos };
}

/** `publish "a/b" qos 1`, for messages. */
export function describeWhat(what: What): string {
  if (what === 'connect') return 'connect';
  const [action, topic] = Object.entries(what)[0] as [string, string];
  return `${action} "${topic}"${what.qos !== undefined ? ` qos ${what.qos}` : ''}${'retain' in what && what.retain ? ' retained' : ''}`;
}
