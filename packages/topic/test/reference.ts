/**
 * A deliberately naive model of MQTT §4.7, written straight from the spec, that the fast implementation
 * is checked against. Coverage and overlap are decided by enumerating every topic over a finite universe.
 */
export function refMatch(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  if (t[0]!.startsWith('$') && (f[0] === '+' || f[0] === '#')) return false;
  const rec = (i: number): boolean => {
    if (i === f.length) return i === t.length;
    if (f[i] === '#') return true;
    if (i === t.length) return false;
    return (f[i] === '+' || f[i] === t[i]) && rec(i + 1);
  };
  return rec(0);
}

/** Every valid topic name whose levels come from `alphabet`, with 1..depth levels. */
export function allTopics(alphabet: readonly string[], depth: number): string[] {
  const out: string[] = [];
  let frontier: string[][] = [[]];
  for (let d = 1; d <= depth; d++) {
    const next: string[][] = [];
    for (const prefix of frontier) for (const level of alphabet) next.push([...prefix, level]);
    for (const levels of next) {
      const topic = levels.join('/');
      if (topic.length > 0) out.push(topic);
    }
    frontier = next;
  }
  return out;
}

export function refCovers(outer: string, inner: string, universe: readonly string[]): boolean {
  return universe.every((t) => !refMatch(inner, t) || refMatch(outer, t));
}

export function refOverlap(a: string, b: string, universe: readonly string[]): boolean {
  return universe.some((t) => refMatch(a, t) && refMatch(b, t));
}
