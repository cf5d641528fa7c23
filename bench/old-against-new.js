// Two builds of one function, alternating in ABBA order (whoever runs second after the other's warm CPU
// is not always the same), over the same items: median ns per item after the first eighth of rounds.

/**
 * @param {{ old: (item: unknown) => number, new: (item: unknown) => number }} step one item through each build
 * @param {readonly unknown[]} items
 * @param {number} rounds
 * @returns {{ old: number, new: number }} median ns per item
 */
export function oldAgainstNew(step, items, rounds) {
  const ns = { old: [], new: [] };
  let sink = 0;
  for (let r = 0; r < rounds; r++) {
    for (const name of r % 2 ? ['old', 'new'] : ['new', 'old']) {
      const run = step[name];
      const start = process.hrtime.bigint();
      for (const item of items) sink += run(item);
      ns[name].push(Number(process.hrtime.bigint() - start) / items.length);
    }
  }
  // Kept so that the calls are not optimised away.
  if (Number.isNaN(sink)) console.log(sink);
  const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
  const warm = rounds >> 3;
  return { old: median(ns.old.slice(warm)), new: median(ns.new.slice(warm)) };
}
