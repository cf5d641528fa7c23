const f = require('fs');
const file = process.argv[2];
const p = JSON.parse(f.readFileSync(file));
const self = new Map();
const dt = p.timeDeltas;
const idx = new Map(p.nodes.map((n) => [n.id, n]));
for (let i = 0; i < p.samples.length; i++) {
  const n = idx.get(p.samples[i]);
  const k =
    n.callFrame.functionName +
    ' ' +
    n.callFrame.url.split('/').slice(-3).join('/') +
    ':' +
    n.callFrame.lineNumber;
  self.set(k, (self.get(k) || 0) + (dt[i] || 0));
}
const tot = [...self.values()].reduce((a, b) => a + b, 0);
console.log('total ms', tot / 1000);
for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 25))
  console.log((v / 1000).toFixed(0).padStart(7), k);
