/**
 * An exported file holds exactly the rules the policy has: no username, topic, file name or comment can
 * add a line (Mosquitto) or a term (EMQX), whatever characters it holds.
 */
import { describe, expect, it } from 'vitest';
import { exportEmqxAcl, exportMosquittoAcl, parseErlangTerms, parseMosquittoAclFile } from '../src/index.js';

const HOSTILE = 'x\nuser root\ntopic readwrite #';
const policy = JSON.stringify({
  version: 1,
  combining: 'first-applicable',
  defaults: { clientIds: '*' },
  users: { [HOSTILE]: ['r'], 'a"}.{allow, all}.%': ['r'] },
  roles: { r: { rules: [{ effect: 'allow', actions: ['publish'], topics: ['t/${username}'] }] } },
});
const file = 'p.yaml\n{allow, all}.\ntopic readwrite #';

describe('exports cannot be made to grant more by names or file names', () => {
  it('Mosquitto: a username with a line break is not exported; the file name stays one comment', () => {
    const { text, report } = exportMosquittoAcl(policy, { file });
    const acl = parseMosquittoAclFile(text, 'exported');
    expect(acl.users).toEqual(['a"}.{allow, all}.%']);
    expect(acl.rules.map((r) => `${r.user} ${r.access} ${r.topic}`)).toEqual([
      'a"}.{allow, all}.% write t/a"}.{allow, all}.%',
    ]);
    expect(report.refused.map((e) => e.message)).toEqual([
      'the username holds a line break or starts or ends with white space: no "user" line can name it',
    ]);
  });

  it('EMQX: names are escaped Erlang strings; the file name stays one comment', () => {
    const { text } = exportEmqxAcl(policy, { file });
    const forms = parseErlangTerms(text, 'exported');
    expect(forms).toHaveLength(2); // the rule, for both users, and the final {deny, all}
    const names = JSON.stringify(forms[0]!.term);
    expect(names).toContain(JSON.stringify(HOSTILE));
    expect(names).toContain(JSON.stringify('a"}.{allow, all}.%'));
  });
});
