import { isIP } from 'node:net';
import { parseAclClaim, ruleTopicProblem } from '@mqtt-warden/jwt';
import { parsePolicy } from '@mqtt-warden/policy';
import { topicFilterProblem } from '@mqtt-warden/topic';
import { type ErlangForm, type ErlangTerm, parseErlangTerms } from './erlang-terms.js';
import type { ImportOptions, ImportResult } from './import-mosquitto-acl.js';
import { ReportBuilder } from './import-report.js';
import { MigrationError } from './migration-error.js';
import {
  type ActionWord,
  type DraftRule,
  type PolicyDraft,
  renderPolicyYaml,
  roleNamer,
} from './policy-draft.js';

/** Options of {@link importEmqxAcl}. */
export interface EmqxAclImportOptions extends ImportOptions {
  /**
   * EMQX's `authorization.no_match`: the decision when no rule (of any authorization source) matched.
   * Default `allow`, EMQX's own default; the policy writes it as a last rule so that it is explicit.
   */
  readonly noMatch?: 'allow' | 'deny';
}

/** Who a rule is for, as one conjunction: every present condition must hold. */
interface Conjunct {
  readonly username?: readonly string[];
  readonly clientid?: readonly string[];
  readonly from?: readonly string[];
}

/** A `Who` EMQX accepts that the policy cannot express (the rule is refused). */
class Inexpressible extends Error {}

type EmqxAction = 'publish' | 'subscribe' | 'all';

const MAX_ALTERNATIVES = 64;

const NOTES = [
  'EMQX checks acl.conf rules top to bottom and the first match decides: written as combining: first-applicable, ' +
    'one role per rule (or per alternative of an \'or\'), in file order, each bound to the clients its "who" names.',
  'A username counts only when an authenticator proved it; EMQX matched {user, U} and ${username} against the CONNECT username as given.',
  'Subscriptions: the policy grants one only when an allow rule covers the whole filter and refuses one that overlaps an earlier deny. ' +
    'EMQX compares the requested filter word by word, so a rule "a/+" also admitted "a/#" and "+" admitted "#"; the policy does not.',
  'A rule with an address condition (ipaddr, ipaddrs) becomes a rule with "from": when the client address is unknown, ' +
    'such an allow does not apply and such a deny does (EMQX: neither applies).',
];

/**
 * Imports EMQX's file authorizer `acl.conf` (Erlang terms: `{allow|deny, Who, Action, Topics}.` and
 * `{allow|deny, all}.`) into a policy with `combining: first-applicable` and one role per rule in file
 * order, so that the first matching rule decides as in EMQX 5.8. `authorization.no_match` (EMQX default
 * `allow`) becomes an explicit last rule. Rules EMQX accepts but the policy cannot express (client
 * attributes, regular expressions other than plain literals, unknown placeholders) are refused and
 * listed in the report. Throws a {@link MigrationError} at `file:line:column` for a file EMQX refuses.
 *
 * @example
 * ```ts
 * const { yaml, report } = importEmqxAcl('{allow, {user, "dashboard"}, subscribe, ["$SYS/#"]}.\n{deny, all}.\n', {
 *   file: 'acl.conf',
 * });
 * ```
 */
export function importEmqxAcl(text: string, options: EmqxAclImportOptions): ImportResult {
  const { file } = options;
  const noMatch = options.noMatch ?? 'allow';
  const forms = parseErlangTerms(text, file);
  const report = new ReportBuilder();
  const draft: PolicyDraft = {
    header: [
      `Imported from the EMQX acl.conf ${file} by "mqtt-warden import emqx-acl".`,
      'Roles are evaluated in file order (first-applicable): the first matching rule decides, as in EMQX.',
    ],
    combining: 'first-applicable',
    users: new Map(),
    bindings: [],
    roles: [],
  };
  const roleName = roleNamer();
  let allowsDollarAfterDenyAll = false;
  let denyAllLine: number | undefined;
  let catchAllLine: number | undefined;

  for (const form of forms) {
    const { term } = form;
    const entry = { file, line: term.line, text: form.text.replace(/\s+/g, ' ') };
    const rule = readRule(form, file);
    let conjuncts: Conjunct[];
    try {
      conjuncts = rule.who ? whoConjuncts(rule.who, file) : [{}];
    } catch (error) {
      if (!(error instanceof Inexpressible)) throw error;
      report.refused.push({ ...entry, message: error.message });
      continue;
    }
    const topics: string[] = [];
    const changes: string[] = [];
    let refusal: string | undefined;
    for (const topic of rule.topics) {
      const translated = translateTopic(topic, changes);
      const exact = translated.startsWith('eq ') ? translated.slice(3) : undefined;
      const problem =
        exact === undefined
          ? ruleTopicProblem(translated)
          : topicFilterProblem(exact) && `an exact topic no request can equal (${topicFilterProblem(exact)})`;
      if (problem) refusal ??= `topic "${translated}": ${problem}`;
      topics.push(translated);
    }
    if (refusal) {
      report.refused.push({ ...entry, message: refusal });
      continue;
    }
    const templated = topics.filter((t) => !t.startsWith('eq ') && t.includes('${'));
    if (templated.length > 0) {
      const pasted = templated.some((t) => t.includes('${username}'))
        ? 'EMQX pasted the value in, "undefined" for a client without username'
        : 'EMQX pasted the value in';
      changes.push(
        rule.effect === 'allow'
          ? `a placeholder whose value is missing, empty or holds "+", "#" or "/" makes this allow match nothing (${pasted})`
          : `a placeholder whose value is missing, empty or holds "+", "#" or "/" makes this deny match every topic (${pasted})`,
      );
    }
    const rules = parseAclClaim([
      {
        permission: rule.effect,
        action: rule.action,
        topics,
        ...(rule.qos && { qos: rule.qos }),
        ...(rule.retain !== undefined && { retain: rule.retain }),
      },
    ]);
    if (conjuncts.length === 0 || rules.length === 0) {
      report.imported.push({ ...entry, message: 'matches no client or no topic in EMQX either: no role' });
      continue;
    }
    if (rule.catchAll) {
      catchAllLine ??= term.line;
      if (rule.effect === 'deny') denyAllLine ??= term.line;
    } else if (
      denyAllLine !== undefined &&
      rule.effect === 'allow' &&
      topics.some((t) => /^(eq )?\$/.test(t))
    ) {
      allowsDollarAfterDenyAll = true;
    }
    const roles: string[] = [];
    conjuncts.forEach((conjunct, i) => {
      const name = roleName(
        i === 0 ? `line-${term.line}` : `line-${term.line}-or-${i + 1}`,
        `line-${term.line}-${i + 1}`,
      );
      roles.push(name);
      draft.roles.push({
        name,
        rules: rules.map(
          (r): DraftRule => ({
            effect: r.effect,
            actions: r.actions as readonly ActionWord[],
            topics: r.topics,
            ...(r.qos && { qos: r.qos }),
            ...(r.retain !== undefined && { retain: r.retain }),
            ...(conjunct.from && { from: conjunct.from }),
            comment: `${file}:${term.line}: ${entry.text}`,
          }),
        ),
      });
      const when: Record<string, readonly string[]> = {};
      if (conjunct.username) when.username = conjunct.username;
      if (conjunct.clientid) when.clientid = conjunct.clientid;
      draft.bindings.push({ when, roles: [name] });
    });
    report.imported.push({ ...entry, message: `role${roles.length > 1 ? 's' : ''} ${roles.join(', ')}` });
    for (const message of changes) report.changed.push({ ...entry, message });
  }

  if (catchAllLine !== undefined) {
    report.notes.push(
      `authorization.no_match never applies: line ${catchAllLine} matches every request first (the policy denies what no rule allows)`,
    );
  } else if (noMatch === 'allow') {
    const name = roleName('no-match', 'no-match');
    draft.roles.push({
      name,
      description: 'EMQX authorization.no_match = allow: what no rule matched',
      rules: [
        {
          effect: 'allow',
          actions: ['all'],
          topics: ['#'],
          comment: 'authorization.no_match = allow (EMQX default): every topic except "$..." ones',
        },
      ],
    });
    draft.bindings.push({ when: {}, roles: [name] });
    report.notes.push(
      'authorization.no_match = allow (EMQX default, --no-match deny to change): what no rule matches is ALLOWED, written as the last role "no-match". ' +
        'Topics starting with "$" stay denied there (a policy "#" never matches them).',
    );
  } else {
    report.notes.push('authorization.no_match = deny: what no rule matches is denied (the policy default).');
  }
  report.notes.push(...NOTES);
  if (denyAllLine !== undefined && allowsDollarAfterDenyAll) {
    report.notes.push(
      `line ${denyAllLine} denies every topic, which in EMQX 5.8.9 includes "$..." topics; the policy's "#" does not, so a later allow of a "$..." topic grants it (EMQX never reached it)`,
    );
  }

  const yaml = renderPolicyYaml(draft);
  // The importer's own check: what it writes must load. A failure here is a bug, never a partial file.
  parsePolicy(yaml, { file: 'imported policy' });
  return { draft, yaml, report: report.build() };
}

interface EmqxRule {
  readonly effect: 'allow' | 'deny';
  /** Absent for `{Permission, all}`. */
  readonly who?: ErlangTerm;
  readonly action: EmqxAction;
  readonly qos?: number[];
  readonly retain?: boolean;
  /** Topics as written: strings, `{eq, T}` as `eq T`, the atom `all` as `all`. */
  readonly topics: readonly (string | { readonly all: true })[];
  /** `{allow|deny, all}` or a rule for `all` clients on topic `all`/`#`. */
  readonly catchAll: boolean;
}

/** A rule's shape as EMQX checks it when it loads the file; anything it refuses throws. */
function readRule(form: ErlangForm, file: string): EmqxRule {
  const { term } = form;
  const fail = (at: ErlangTerm, message: string): never => {
    throw new MigrationError(`${message} (EMQX refuses the file)`, {
      file,
      line: at.line,
      column: at.column,
    });
  };
  if (term.kind !== 'tuple' || (term.items.length !== 2 && term.items.length !== 4)) {
    return fail(term, 'a rule is {allow|deny, Who, Action, Topics} or {allow|deny, all}');
  }
  const [permission, who, action, topics] = term.items as [ErlangTerm, ErlangTerm, ErlangTerm?, ErlangTerm?];
  if (permission.kind !== 'atom' || (permission.value !== 'allow' && permission.value !== 'deny')) {
    fail(permission, 'the permission must be allow or deny');
  }
  const effect = (permission as { value: 'allow' | 'deny' }).value;
  if (!action || !topics) {
    if (who.kind !== 'atom' || who.value !== 'all') fail(who, `a two-element rule is {${effect}, all}`);
    return { effect, action: 'all', topics: [{ all: true }], catchAll: true };
  }
  validateWho(who, fail);

  let verb = action;
  let qos: number[] | undefined;
  let retain: boolean | undefined;
  if (action.kind === 'tuple') {
    const [name, opts] = action.items;
    if (action.items.length !== 2 || !opts || opts.kind !== 'list') {
      fail(action, 'an action with options is {publish|subscribe|all, [{qos, ...}, {retain, ...}]} (a list)');
    }
    verb = name!;
    for (const opt of items(opts)) {
      const [key, value] = opt.kind === 'tuple' && opt.items.length === 2 ? opt.items : [];
      if (key?.kind === 'atom' && key.value === 'qos' && value) {
        const levels = value.kind === 'list' ? value.items : [value];
        if (levels.length === 0 || levels.some((l) => l.kind !== 'integer' || l.value < 0 || l.value > 2)) {
          fail(value, 'qos must be 0, 1, 2 or a list of them');
        }
        qos = [...new Set(levels.map((l) => (l as { value: number }).value))].sort();
      } else if (key?.kind === 'atom' && key.value === 'retain' && value) {
        if (value.kind !== 'atom' || !['true', 'false', 'all'].includes(value.value)) {
          fail(value, 'retain must be true, false or all');
        }
        const r = (value as { value: string }).value;
        retain = r === 'all' ? undefined : r === 'true';
      } else {
        fail(opt, 'an action option is {qos, Levels} or {retain, true|false|all}');
      }
    }
  }
  if (verb.kind !== 'atom' || !['publish', 'subscribe', 'all'].includes(verb.value)) {
    fail(verb, 'the action must be publish, subscribe or all (4.x "pubsub" is gone in 5.x)');
  }
  if (topics.kind !== 'list') fail(topics, 'the topics must be a list, e.g. ["t/#"]');
  const topicList = items(topics).map((t): string | { all: true } => {
    if (t.kind === 'string') return t.value;
    if (t.kind === 'atom' && t.value === 'all') return { all: true };
    const [eq, value] = t.kind === 'tuple' && t.items.length === 2 ? t.items : [];
    if (eq?.kind === 'atom' && eq.value === 'eq' && value?.kind === 'string') return `eq ${value.value}`;
    return fail(t, 'a topic is a string, {eq, "topic"} or the atom all');
  });
  const everyone = who.kind === 'atom' && who.value === 'all';
  return {
    effect,
    who,
    action: (verb as { value: EmqxAction }).value,
    ...(qos && qos.length < 3 && { qos }),
    ...(retain !== undefined && { retain }),
    topics: topicList,
    catchAll:
      everyone &&
      verb.kind === 'atom' &&
      verb.value === 'all' &&
      qos === undefined &&
      retain === undefined &&
      topicList.some((t) => t === '#' || typeof t !== 'string'),
  };
}

function validateWho(who: ErlangTerm, fail: (at: ErlangTerm, message: string) => never): void {
  if (who.kind === 'atom' && who.value === 'all') return;
  const [kind, ...args] = who.kind === 'tuple' ? who.items : [];
  const name = kind?.kind === 'atom' ? kind.value : undefined;
  const stringOrRe = (t: ErlangTerm | undefined) =>
    t?.kind === 'string' ||
    (t?.kind === 'tuple' &&
      t.items.length === 2 &&
      t.items[0]!.kind === 'atom' &&
      t.items[0]!.value === 're' &&
      t.items[1]!.kind === 'string');
  const ok =
    ((name === 'user' || name === 'username' || name === 'client' || name === 'clientid') &&
      args.length === 1 &&
      stringOrRe(args[0])) ||
    (name === 'client_attr' && args.length === 2 && args[0]!.kind === 'string' && stringOrRe(args[1])) ||
    (name === 'ipaddr' && args.length === 1 && args[0]!.kind === 'string') ||
    (name === 'ipaddrs' &&
      args.length === 1 &&
      args[0]!.kind === 'list' &&
      items(args[0]).every((t) => t.kind === 'string')) ||
    ((name === 'and' || name === 'or') && args.length === 1 && args[0]!.kind === 'list');
  if (!ok) {
    fail(
      who,
      'who is all, {user|username, "name" | {re, "regex"}}, {clientid|client, ...}, {client_attr, "name", ...}, {ipaddr, "CIDR"}, {ipaddrs, [...]}, {\'and\', [...]} or {\'or\', [...]}',
    );
  }
  if (name === 'and' || name === 'or') {
    for (const item of items(args[0])) validateWho(item, fail);
  }
}

/** A `Who` as alternatives (disjunctive normal form); an empty list matches no client. */
function whoConjuncts(who: ErlangTerm, file: string): Conjunct[] {
  if (who.kind === 'atom') return [{}];
  const [kind, ...args] = items(who) as [{ value: string }, ...ErlangTerm[]];
  switch (kind.value) {
    case 'user':
    case 'username':
      return [{ username: namePatterns(args[0]!, 'username') }];
    case 'client':
    case 'clientid':
      return [{ clientid: namePatterns(args[0]!, 'client id') }];
    case 'client_attr':
      throw new Inexpressible(
        'client attributes (client_attr) do not exist in mqtt-warden; bind the role to a proven attribute by hand (bindings: when: attributes)',
      );
    case 'ipaddr':
      return [{ from: [cidr(args[0]!, file)] }];
    case 'ipaddrs':
      return [{ from: items(args[0]).map((t) => cidr(t, file)) }];
    case 'or':
      return items(args[0]).flatMap((t) => whoConjuncts(t, file));
    default: {
      // 'and': every combination of one alternative of each part.
      let result: Conjunct[] = [{}];
      for (const part of items(args[0])) {
        const alternatives = whoConjuncts(part, file);
        result = result.flatMap((a) => alternatives.map((b) => merge(a, b)));
        // An 'and' of 'or's multiplies out: cap the number of roles it becomes.
        if (result.length > MAX_ALTERNATIVES) {
          throw new Inexpressible(
            `this who has more than ${MAX_ALTERNATIVES} alternatives once multiplied out; split the rule`,
          );
        }
      }
      return result;
    }
  }
}

function merge(a: Conjunct, b: Conjunct): Conjunct {
  const both = (key: keyof Conjunct, what: string) => {
    const x = a[key];
    const y = b[key];
    if (!x || !y) return x ?? y;
    if (x.join('\n') === y.join('\n')) return x;
    throw new Inexpressible(`'and' of two different ${what} conditions cannot be written as one binding`);
  };
  const username = both('username', 'username');
  const clientid = both('clientid', 'client id');
  const from = both('from', 'address');
  return { ...(username && { username }), ...(clientid && { clientid }), ...(from && { from }) };
}

/**
 * A username or client id condition as name patterns: a string is matched exactly; a regex is
 * translated only when it is a plain literal, optionally anchored (`^name$`, `^prefix`, `suffix$`).
 */
function namePatterns(term: ErlangTerm, what: string): string[] {
  if (term.kind === 'string') {
    if (term.value === '') throw new Inexpressible(`an empty ${what} matches no proven ${what}`);
    if (term.value.includes('*')) {
      throw new Inexpressible(
        `the ${what} "${term.value}" contains "*", which a policy binding reads as a wildcard`,
      );
    }
    return [term.value];
  }
  const regex = (items(term)[1] as { value: string }).value;
  const m = /^(\^?)((?:[A-Za-z0-9_\-@:/ ,;=~!&'"<>]|\\[.\-+*?()[\]{}|\\/$^])*)(\$?)$/.exec(regex);
  if (!m) {
    throw new Inexpressible(
      `the regular expression ${JSON.stringify(regex)} is not a plain (anchored) literal; write the ${what}s it admits as a list by hand`,
    );
  }
  const literal = m[2]!.replace(/\\(.)/g, '$1');
  if (literal.includes('*')) {
    throw new Inexpressible(
      `the ${what} regex ${JSON.stringify(regex)} matches a "*", which a binding reads as a wildcard`,
    );
  }
  const start = m[1] ? '' : '*';
  if (m[1] && m[3] && literal === '')
    throw new Inexpressible(`the regex ${JSON.stringify(regex)} matches only an empty ${what}`);
  // PCRE's "$" also matches before a final newline.
  return m[3] ? [`${start}${literal}`, `${start}${literal}\n`] : [`${start}${literal}*`];
}

function cidr(term: ErlangTerm, file: string): string {
  const value = (term as { value: string }).value;
  const [address = '', bits, ...rest] = value.split('/');
  const family = isIP(address);
  const max = family === 4 ? 32 : 128;
  if (
    family === 0 ||
    rest.length > 0 ||
    (bits !== undefined && !(/^\d{1,3}$/.test(bits) && Number(bits) <= max))
  ) {
    throw new MigrationError(`invalid address or CIDR block "${value}" (EMQX refuses the file)`, {
      file,
      line: term.line,
      column: term.column,
    });
  }
  return value;
}

/**
 * A topic as the policy writes it (`eq T` stays for the claim translator): `all` becomes `#`, legacy
 * `%u`/`%c` become `${username}`/`${clientid}`; each change of meaning is added to `changes`.
 */
function translateTopic(topic: string | { readonly all: true }, changes: string[]): string {
  if (typeof topic !== 'string') {
    changes.push(
      '"all" covers every topic in EMQX 5.8.9, "$..." ones too; the policy writes "#", which does not match "$..." topics',
    );
    return '#';
  }
  if (topic.startsWith('eq ') || !/%[uc]/.test(topic)) return topic;
  changes.push(
    'EMQX 4.x substituted %u and %c; EMQX 5.x matches them as literal text. Imported as ${username}/${clientid} (the 4.x meaning)',
  );
  return topic.replace(/%([uc])/g, (_, c: string) => (c === 'u' ? '${username}' : '${clientid}'));
}

/** A tuple's or list's elements; nothing for other terms. */
function items(term: ErlangTerm | undefined): readonly ErlangTerm[] {
  return term?.kind === 'tuple' || term?.kind === 'list' ? term.items : [];
}
