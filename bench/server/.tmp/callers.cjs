const f = require('fs');
const p = JSON.parse(f.readFileSync(process.argv[2]));
const target = process.argv[3];
const idx = new Map(p.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of p.nodes) for (const c of n.children || []) parent.set(c, n.id);
const time = new Map();
p.samples.forEach((s, i) => time.set(s, (time.get(s) || 0) + (p.timeDeltas[i] || 0)));
const stacks = new Map();
for (const n of p.nodes)
  if (n.callFrame.functionName === target && time.get(n.id)) {
    const s = [];
    let id = parent.get(n.id);
    while (id && s.length < 14) {
      const m = idx.get(id);
      s.push(
        m.callFrame.functionName +
          '@' +
          m.callFrame.url.split('/').slice(-2).join('/') +
          ':' +
          m.callFrame.lineNumber,
      );
      id = parent.get(id);
    }
    const k = s.join(' < ');
    stacks.set(k, (stacks.get(k) || 0) + time.get(n.id));
  }
for (const [k, v] of [...stacks].sort((a, b) => b[1] - a[1]).slice(0, 4))
  console.log((v / 1000).toFixed(0), k, '\n');
