import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';

v8.setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/**
 * The heap `run` leaves in use, garbage collected before and after: what it keeps alive (keep what it
 * makes referenced from outside, or it is collected too).
 */
export function heapKeptBy(run: () => void): number {
  gc();
  const before = process.memoryUsage().heapUsed;
  run();
  gc();
  return process.memoryUsage().heapUsed - before;
}
