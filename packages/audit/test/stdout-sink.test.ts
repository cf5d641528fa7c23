import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createAuditTrail, StdoutSink } from '../src/index.js';
import { refusal, until } from './records.js';

describe('stdout sink', () => {
  it('writes one JSON line per record to its stream', async () => {
    const stream = new PassThrough();
    let out = '';
    stream.on('data', (chunk) => (out += chunk));
    const trail = createAuditTrail({ sinks: [new StdoutSink(stream)], alerts: false });
    for (let n = 0; n < 3; n++) trail.record(refusal(n));
    await until(() => out.split('\n').length === 4);
    await trail.close();
    expect(
      out
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line).topic),
    ).toEqual(['devices/other/0', 'devices/other/1', 'devices/other/2']);
  });
});
