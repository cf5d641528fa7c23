import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

// `--expose-gc` set at run time: the flag reaches the next context created, which hands back `gc`.
setFlagsFromString('--expose-gc');
/** A full collection. */
export const gc = runInNewContext('gc') as () => void;

/**
 * Bytes of live heap after full collections: what a table or a client really keeps. A frame still on the
 * stack keeps what it references, dead or not: an unoptimized one (V8 optimizes late on a loaded machine)
 * keeps every register, such as a finished `for…of` loop's iterator with its array. Build what must be
 * garbage in a function that has returned by the time this is called.
 */
export function heapAfterGc(): number {
  for (let i = 0; i < 3; i++) gc();
  return process.memoryUsage().heapUsed;
}

/**
 * `count` distinct flat strings of `length` one-byte characters, each `prefix` + its number + filler.
 * Built from a buffer so that each string owns its characters (no shared rope or slice).
 */
export function longTopics(count: number, length: number, prefix = ''): string[] {
  const topics: string[] = [];
  const buffer = Buffer.alloc(length, 'x');
  for (let i = 0; i < count; i++) {
    const head = `${prefix}${i}/`;
    buffer.write(head, 0, 'latin1');
    topics.push(buffer.toString('latin1'));
  }
  return topics;
}

export const MiB = 2 ** 20;
