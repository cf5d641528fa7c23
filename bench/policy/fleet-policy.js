// The 100k-rule policy both policy benches use (bench/policy/index.js, bench/policy/load.js), from a
// seeded PRNG so runs are comparable.

/** Deterministic PRNG (mulberry32); `pick` and `int` draw from it. */
export function seededRandom(seed = 42) {
  let state = seed;
  const random = () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    random,
    pick: (list) => list[Math.floor(random() * list.length)],
    int: (n) => Math.floor(random() * n),
  };
}

export const ROLES = 1_000;
export const RULES_PER_ROLE = 100;

/** 1k roles of 100 rules: 60 % literal, 15 % `+`, 15 % `#`, 10 % `${username}` templates; 90 % allow. */
export function fleetPolicy({ random, pick, int }) {
  const ACTION_WORDS = ['publish', 'subscribe', 'receive', 'read', 'write'];
  const roles = {};
  for (let r = 0; r < ROLES; r++) {
    const rules = [];
    for (let j = 0; j < RULES_PER_ROLE; j++) {
      const kind = random();
      let topic;
      if (kind < 0.6) topic = `site${r}/dev${int(50)}/sensor${j}`;
      else if (kind < 0.75) topic = `site${r}/+/sensor${j}`;
      else if (kind < 0.9) topic = `site${r}/dev${int(50)}/#`;
      else topic = `users/\${username}/site${r}/box${j}`;
      rules.push({
        effect: random() < 0.9 ? 'allow' : 'deny',
        actions: [pick(ACTION_WORDS)],
        topics: [topic],
      });
    }
    roles[`role${r}`] = { rules };
  }
  return { version: 1, roles };
}
