import {
  type AccessRequest,
  type Action,
  type Authorizer,
  type Decision,
  type Principal,
  type PrincipalRule,
  principalKey,
  type RuleSource,
} from '@mqtt-warden/core';
import {
  compileTopicTemplate,
  isValidTopicFilter,
  isValidTopicName,
  parseSubscription,
  type TopicTemplate,
} from '@mqtt-warden/topic';
import { type ClientIdTemplate, compileClientIdTemplate, DEFAULT_CLIENT_IDS } from './client-id-rule.js';
import { type CompiledRule, type ConditionFacts, compileRule, conditionFailure } from './compiled-rule.js';
import type { ExplainedRule, Explanation, RuleRelation } from './explanation.js';
import { compileNamePatterns } from './name-pattern.js';
import { type Path, parseYaml, validateDocument } from './parse-yaml.js';
import { placeholderValue } from './placeholders.js';
import { ACTIONS, type PolicyDocument, PolicyDocumentSchema } from './policy-document.js';
import { compilePrincipalMatcher } from './principal-matcher.js';
import { readPolicyText } from './read-policy-text.js';
import { RoleMembership } from './role-membership.js';
import { RuleTable } from './rule-table.js';
import { isLiteralFilter, levelHash, TopicLevels } from './shape-index.js';

export interface PolicyOptions {
  /** File name used in error locations and rule sources. */
  readonly file?: string;
  /** How many principals' compiled views (roles, instantiated templates) to keep. Default 50,000. */
  readonly principalCacheSize?: number;
}

/** A `clientIds` rule: the client ids a principal may connect with, and where it was written. */
interface ClientIdBinding {
  readonly id: string;
  readonly label: string;
  readonly templates: readonly ClientIdTemplate[];
  readonly source?: RuleSource;
}

interface CompiledRole {
  readonly index: number;
  /** The role's own client-id rule; the policy's default applies when absent. */
  readonly clientIds?: ClientIdBinding;
  /** Rules with placeholders: instantiated per principal. */
  readonly templated: readonly { readonly actions: readonly Action[]; readonly rule: CompiledRule }[];
}

/**
 * What a principal may do, computed once per principal and reused. One object (the role indexes in the
 * fields it inherits, the condition facts and the deny lists in its own): a decision reads the profile,
 * cold in memory, without fetching further objects from it.
 */
class Profile extends RoleMembership implements ConditionFacts {
  constructor(
    readonly roles: readonly string[],
    /** Indexes of those roles: rules of the shared static table belonging to other roles are skipped. */
    roleIndexes: readonly number[],
    readonly superuser: boolean,
    readonly tables: readonly RuleTable[],
    /**
     * First levels that the filters of the principal's own table (`tables[1]`) can have, or undefined when
     * any: a request whose first level is none of them needs only the shared table.
     */
    readonly firstLevels: ReadonlySet<number> | undefined,
    /** Deny rules whose placeholders had no safe value, by action: they apply to every topic of it. */
    readonly denyPublish: readonly CompiledRule[],
    readonly denySubscribe: readonly CompiledRule[],
    readonly denyReceive: readonly CompiledRule[],
    readonly remoteAddress: string | undefined,
    readonly tls: boolean | undefined,
  ) {
    super(roleIndexes);
  }
}

interface Run {
  readonly firstApplicable: boolean;
  /** The principal's roles and condition facts. */
  readonly profile: Profile;
  readonly request: AccessRequest;
  readonly trace: ExplainedRule[] | undefined;
  best: CompiledRule | undefined;
}

const SHORTHANDS: Record<string, readonly Action[]> = {
  publish: ['publish'],
  subscribe: ['subscribe'],
  receive: ['receive'],
  read: ['subscribe', 'receive'],
  write: ['publish'],
  all: ACTIONS,
};
const NONE: readonly CompiledRule[] = [];
const SUPERUSER: Decision = Object.freeze({
  allowed: true,
  reason: 'superuser',
  message: 'superuser: topic checks skipped',
});
const EXPIRED: Decision = Object.freeze({
  allowed: false,
  reason: 'expired',
  message: 'the principal has expired',
});
const INVALID_NAME: Decision = Object.freeze({
  allowed: false,
  reason: 'invalid',
  message: 'not a valid MQTT topic name',
});
const INVALID_FILTER: Decision = Object.freeze({
  allowed: false,
  reason: 'invalid',
  message: 'not a valid MQTT topic filter',
});
const DEFAULT_DENY: Record<Action, Decision> = {
  publish: Object.freeze({
    allowed: false,
    reason: 'default',
    message: 'no rule allows publishing to this topic',
  }),
  subscribe: Object.freeze({
    allowed: false,
    reason: 'default',
    message: 'no allow rule covers this subscription',
  }),
  receive: Object.freeze({
    allowed: false,
    reason: 'default',
    message: 'no rule allows receiving this topic',
  }),
};

/**
 * A compiled, immutable policy: the {@link Authorizer} the guard calls. Build one with
 * {@link parsePolicy}, {@link loadPolicy} or {@link compilePolicy}; reload with `watchPolicy`.
 *
 * @example
 * ```ts
 * const policy = await loadPolicy('policy.yaml');
 * const guard = createGuard({ authenticators, authorizer: policy });
 * policy.explain(principal, { action: 'subscribe', topic: 'tenants/acme/#' }); // rules, decision, file:line
 * ```
 */
export class Policy implements Authorizer {
  readonly file: string | undefined;
  readonly combining: 'deny-overrides' | 'first-applicable';
  /** Number of rules in the document (each rule counted once, whatever its topics and actions). */
  readonly ruleCount: number;
  readonly #roles = new Map<string, CompiledRole>();
  /** Every rule without placeholders, of every role, in one index per action and effect. */
  readonly #static = new RuleTable();
  readonly #staticOnly: readonly RuleTable[] = [this.#static];
  /**
   * First levels of the templated rules, known before rendering, as {@link levelHash}es (a request whose
   * first level shares a hash with one merely reads the principal's table); undefined when one is a
   * placeholder or wildcard.
   */
  #templateFirstLevels: Set<number> | undefined = new Set();
  readonly #users = new Map<string, readonly string[]>();
  readonly #groups = new Map<string, readonly string[]>();
  readonly #bindings: { readonly test: (p: Principal) => boolean; readonly roles: readonly string[] }[] = [];
  readonly #superusers: ((p: Principal) => boolean)[];
  readonly #defaultClientIds: ClientIdBinding;
  readonly #connect: {
    readonly methods?: ReadonlySet<string>;
    readonly methodsSource?: RuleSource;
    readonly clientIds?: (clientId: string) => boolean;
    readonly clientIdsSource?: RuleSource;
  };
  readonly #byObject = new WeakMap<Principal, Profile>();
  readonly #byKey = new Map<string, Profile>();
  readonly #cacheSize: number;
  /** Candidate rules of the lookup being scanned, reused by every request (evaluation is synchronous). */
  readonly #candidates: CompiledRule[] = [];
  /** The levels of the topic being decided, read once per request and reused likewise. */
  readonly #levels = new TopicLevels();

  /** Use {@link compilePolicy} or {@link parsePolicy}; `locate` maps document paths to line and column. */
  constructor(
    document: PolicyDocument,
    options: PolicyOptions & {
      readonly locate?: (path: Path) => { line: number; column: number } | undefined;
    } = {},
  ) {
    const { file, locate } = options;
    this.file = file;
    this.combining = document.combining;
    this.#cacheSize = options.principalCacheSize ?? 50_000;
    const source = (path: Path): RuleSource | undefined => {
      const at = locate?.(path);
      return at ? { file, ...at } : file !== undefined ? { file } : undefined;
    };

    const binding = (
      id: string,
      label: string,
      templates: readonly string[],
      path?: Path,
    ): ClientIdBinding => {
      const at = path && source(path);
      return {
        id,
        label:
          at?.line !== undefined
            ? `${label} at ${[at.file, at.line, at.column].filter(Boolean).join(':')}`
            : label,
        templates: templates.map(compileClientIdTemplate),
        ...(at && { source: at }),
      };
    };
    const defaults = document.defaults?.clientIds;
    this.#defaultClientIds = defaults
      ? binding('clientIds:defaults', 'defaults.clientIds', defaults, ['defaults', 'clientIds'])
      : binding(
          'clientIds:defaults',
          'the default binding; set defaults.clientIds to change it',
          DEFAULT_CLIENT_IDS,
        );

    let order = 0;
    for (const [role, { rules, clientIds }] of Object.entries(document.roles)) {
      const roleIndex = this.#roles.size;
      const templated: { actions: readonly Action[]; rule: CompiledRule }[] = [];
      rules.forEach((doc, index) => {
        const actions = [...new Set(doc.actions.flatMap((word) => SHORTHANDS[word]!))];
        const ruleOrder = order++;
        for (const topic of doc.topics) {
          const exact = typeof topic === 'string' ? undefined : topic.eq;
          const rule = compileRule({
            id: `role:${role}#${doc.name ?? index}`,
            effect: doc.effect,
            order: ruleOrder,
            template: typeof topic === 'string' ? compileTopicTemplate(topic) : exactTemplate(topic.eq),
            exact: exact !== undefined,
            what: `${doc.name !== undefined ? `rule "${doc.name}"` : `rule #${index}`} of role ${role}`,
            role,
            roleIndex,
            source: source(['roles', role, 'rules', index]),
            qos: doc.qos,
            retain: doc.retain,
            tls: doc.tls === undefined ? undefined : doc.tls !== false,
            from: doc.from,
          });
          const { template } = rule;
          if (exact !== undefined) for (const action of actions) this.#static.addExact(action, exact, rule);
          else if (template.isStatic)
            for (const action of actions) this.#static.add(action, template.source, rule);
          else {
            templated.push({ actions, rule });
            const first = literalFirstLevel(template.source);
            if (first === undefined) this.#templateFirstLevels = undefined;
            else this.#templateFirstLevels?.add(levelHash(first, 0, first.length));
          }
        }
      });
      this.#roles.set(role, {
        index: roleIndex,
        templated,
        ...(clientIds && {
          clientIds: binding(`clientIds:role:${role}`, `role ${role}`, clientIds, [
            'roles',
            role,
            'clientIds',
          ]),
        }),
      });
    }
    this.ruleCount = order;
    for (const [user, roles] of Object.entries(document.users ?? {})) this.#users.set(user, roles);
    for (const [group, roles] of Object.entries(document.groups ?? {})) this.#groups.set(group, roles);
    for (const binding of document.bindings ?? []) {
      this.#bindings.push({ test: compilePrincipalMatcher(binding.when), roles: binding.roles });
    }
    this.#superusers = (document.superusers ?? []).map(compilePrincipalMatcher);
    const connect = document.connect;
    this.#connect = {
      ...(connect?.methods && {
        methods: new Set(connect.methods),
        methodsSource: source(['connect', 'methods']),
      }),
      ...(connect?.clientIds && {
        clientIds: compileNamePatterns(connect.clientIds),
        clientIdsSource: source(['connect', 'clientIds']),
      }),
    };
  }

  /** Names of the roles the policy defines, in file order. */
  get roles(): readonly string[] {
    return [...this.#roles.keys()];
  }

  /** Decides one publish, subscribe or receive. Never throws for any principal or request. */
  authorize(principal: Principal, request: AccessRequest): Decision {
    if (principal.expiresAt !== undefined && principal.expiresAt <= Date.now()) return EXPIRED;
    const profile = this.#profile(principal);
    if (profile.superuser) return SUPERUSER;
    return this.#evaluate(profile, request, undefined);
  }

  /**
   * The policy's connect rules: allowed auth methods, the client-id allowlist, and the client-id
   * binding: the client id must match a `clientIds` rule of one of the principal's roles (roles without
   * one, and principals without roles, use `defaults.clientIds`, by default `${username}` or `${principal}`).
   */
  admit(principal: Principal): Decision {
    if (principal.expiresAt !== undefined && principal.expiresAt <= Date.now()) return EXPIRED;
    const { methods, clientIds } = this.#connect;
    if (methods && !methods.has(principal.method)) {
      return connectDenial(
        'connect:methods',
        this.#connect.methodsSource,
        `auth method "${principal.method}" is not allowed to connect; allowed: ${[...methods].join(', ')}`,
      );
    }
    if (clientIds && !clientIds(principal.clientId)) {
      return connectDenial(
        'connect:clientIds',
        this.#connect.clientIdsSource,
        `client id "${principal.clientId}" is not in the policy's client-id allowlist`,
      );
    }
    return this.#bindClientId(principal);
  }

  /** Allows when one of the principal's client-id rules matches its client id; the denial lists them. */
  #bindClientId(principal: Principal): Decision {
    const bindings = new Set<ClientIdBinding>();
    const { roles } = this.#profile(principal);
    for (const name of roles) bindings.add(this.#roles.get(name)!.clientIds ?? this.#defaultClientIds);
    if (roles.length === 0) bindings.add(this.#defaultClientIds);
    for (const binding of bindings) {
      const template = binding.templates.find((t) => t.matches(principal, principal.clientId));
      if (template) {
        return {
          allowed: true,
          reason: 'rule',
          rule: { id: binding.id, effect: 'allow', ...(binding.source && { source: binding.source }) },
          message: `client id "${principal.clientId}" is bound to this principal by "${template.source}" (${binding.label})`,
        };
      }
    }
    const first = bindings.values().next().value!;
    const allowed = [...bindings].map(
      (b) => `${b.templates.map((t) => JSON.stringify(t.describe(principal))).join(' or ')} (${b.label})`,
    );
    return connectDenial(
      first.id,
      first.source,
      `client id "${principal.clientId}" is not bound to principal "${principal.id}"; it may use ${allowed.join('; ')}`,
    );
  }

  /**
   * Decides like {@link authorize} and says why: the principal's roles, every rule whose topic relates
   * to the request (with file:line), whether its conditions held, and which rule decided.
   */
  explain(principal: Principal, request: AccessRequest): Explanation {
    const profile = this.#profile(principal);
    const trace: ExplainedRule[] = [];
    let decision: Decision;
    if (principal.expiresAt !== undefined && principal.expiresAt <= Date.now()) decision = EXPIRED;
    else if (profile.superuser) decision = SUPERUSER;
    else decision = this.#evaluate(profile, request, trace);
    // Denies first under deny-overrides (they decide whatever their place), then file order.
    const rank = (e: ExplainedRule) =>
      this.combining === 'deny-overrides' && e.rule.effect === 'deny' ? 0 : 1;
    trace.sort((a, b) => rank(a) - rank(b) || a.order - b.order);
    return {
      decision,
      request,
      principal: { id: principal.id, roles: profile.roles, superuser: profile.superuser },
      combining: this.combining,
      rules: trace,
    };
  }

  /** The roles a principal gets from this policy (its own roles that the policy defines, users, groups, bindings). */
  rolesOf(principal: Principal): readonly string[] {
    return this.#profile(principal).roles;
  }

  #evaluate(profile: Profile, request: AccessRequest, trace: ExplainedRule[] | undefined): Decision {
    const { action } = request;
    const run: Run = {
      firstApplicable: this.combining === 'first-applicable',
      profile,
      request,
      trace,
      best: undefined,
    };
    // Lookups fill this one array in turn; each result is scanned before the next lookup.
    const out = this.#candidates;
    if (action === 'subscribe') {
      let filter = request.topic;
      if (!isValidTopicFilter(filter)) return INVALID_FILTER;
      if (filter.startsWith('$share/') || filter.startsWith('$queue/'))
        filter = parseSubscription(filter).filter;
      // A deny on subscribe or receive that overlaps the subscription refuses it: a broker without a
      // per-delivery check would otherwise deliver what the principal may not receive.
      if (scan(run, profile.denySubscribe, 'subscribe', 'unsafe-placeholder', false))
        return run.best!.decision;
      // Unless the broker checks each delivery itself (request.deliveryChecked).
      const receiveDenies = request.deliveryChecked !== true;
      if (receiveDenies && scan(run, profile.denyReceive, 'receive', 'unsafe-placeholder', true))
        return run.best!.decision;
      // A filter without wildcards relates to a rule's filter as its one topic does: looked up like a
      // topic name, by shape; others are split once for the tries.
      const read = this.#levels.read(filter);
      const levels = isLiteralFilter(filter) ? read : filter.split('/');
      const tables = this.#tablesFor(profile, read);
      for (const table of tables) {
        if (scan(run, table.denies('subscribe', levels, filter, out), 'subscribe', 'overlaps', false))
          return run.best!.decision;
        if (
          receiveDenies &&
          scan(run, table.denies('receive', levels, filter, out), 'receive', 'overlaps', true)
        )
          return run.best!.decision;
      }
      for (const table of tables) {
        if (scan(run, table.allows(levels, filter, out), 'subscribe', 'covers', false))
          return run.best!.decision;
        if (run.best && !run.firstApplicable && !trace) return run.best.decision;
      }
    } else {
      const topic = request.topic;
      if (!isValidTopicName(topic)) return INVALID_NAME;
      // A conditional, not `[action]`: a keyed load by three names is a megamorphic lookup.
      const denyAll =
        action === 'publish'
          ? profile.denyPublish
          : action === 'receive'
            ? profile.denyReceive
            : unknownAction(action);
      if (scan(run, denyAll, action, 'unsafe-placeholder', false)) return run.best!.decision;
      // Allows and denies come in one lookup; a deny ends the scan under deny-overrides.
      const levels = this.#levels.read(topic);
      for (const table of this.#tablesFor(profile, levels)) {
        if (scan(run, table.matching(action, levels, out), action, 'matches', false))
          return run.best!.decision;
      }
    }
    return (
      run.best?.decision ??
      (action === 'publish'
        ? DEFAULT_DENY.publish
        : action === 'receive'
          ? DEFAULT_DENY.receive
          : DEFAULT_DENY.subscribe)
    );
  }

  /**
   * The profile's tables that can hold a filter related to the topic or filter read into `levels`, by
   * its first level. Filters relate only when their first levels are equal or one is a wildcard, so most requests
   * skip the principal's own table without reading it (it is cold in memory, one per principal).
   */
  #tablesFor(profile: Profile, levels: TopicLevels): readonly RuleTable[] {
    const { firstLevels } = profile;
    // A valid filter's wildcard fills its level: a first character `+` or `#` is the whole first level.
    const c = levels.topic.charCodeAt(0);
    if (firstLevels === undefined || c === PLUS || c === HASH || firstLevels.has(levels.hashes[0]!)) {
      return profile.tables;
    }
    return this.#staticOnly;
  }

  #profile(principal: Principal): Profile {
    let profile = this.#byObject.get(principal);
    if (profile) return profile;
    // Adapters may rebuild equal principals per request: share the profile by content too.
    const key = principalKey(principal);
    profile = this.#byKey.get(key);
    if (profile) {
      this.#byKey.delete(key);
    } else {
      profile = this.#buildProfile(principal);
      if (this.#byKey.size >= this.#cacheSize) this.#byKey.delete(this.#byKey.keys().next().value!);
    }
    this.#byKey.set(key, profile);
    this.#byObject.set(principal, profile);
    return profile;
  }

  #buildProfile(principal: Principal): Profile {
    const roles = new Set<string>();
    const grant = (names: readonly string[] | undefined) => {
      for (const name of names ?? []) if (this.#roles.has(name)) roles.add(name);
    };
    grant(principal.roles);
    if (principal.username !== undefined) grant(this.#users.get(principal.username));
    for (const group of principal.groups ?? []) grant(this.#groups.get(group));
    for (const binding of this.#bindings) if (binding.test(principal)) grant(binding.roles);

    const tables: RuleTable[] = [this.#static];
    const personal = new RuleTable();
    const denyAll: Record<Action, CompiledRule[]> = { publish: [], subscribe: [], receive: [] };
    const value = (name: string) => placeholderValue(principal, name);
    const place = (actions: readonly Action[], rule: CompiledRule, filter: string | undefined) => {
      if (rule.ref.exact) {
        for (const action of actions) personal.addExact(action, filter!, rule);
        return;
      }
      if (filter !== undefined) {
        try {
          for (const action of actions) personal.add(action, filter, rule);
          return;
        } catch {
          // A rendered filter the index rejects (e.g. too long) is as unsafe as a missing value.
        }
      }
      // Placeholders never widen access: an allow rule without a safe value does not match; a deny
      // rule then applies to every topic.
      if (rule.effect === 'deny') for (const action of actions) denyAll[action].push(rule);
    };
    for (const name of roles) {
      const role = this.#roles.get(name)!;
      for (const { actions, rule } of role.templated) place(actions, rule, rule.template.render(value));
    }
    principal.rules?.forEach((own, index) => {
      const actions = dedupe(own.actions);
      for (const [rule, template] of compileOwnRule(own, index, this.ruleCount + index)) {
        place(actions, rule, template?.render(value));
      }
    });
    if (personal.size > 0) tables.push(personal);
    return new Profile(
      [...roles],
      [...roles].map((name) => this.#roles.get(name)!.index),
      principal.superuser === true || this.#superusers.some((test) => test(principal)),
      tables,
      // The principal's own rules (e.g. token ACL claims) may start anywhere.
      principal.rules?.length ? undefined : this.#templateFirstLevels,
      denyAll.publish.length ? denyAll.publish : NONE,
      denyAll.subscribe.length ? denyAll.subscribe : NONE,
      denyAll.receive.length ? denyAll.receive : NONE,
      principal.remoteAddress,
      principal.tls,
    );
  }
}

const PLUS = 43;
const HASH = 35;

/** The literal first level of a policy rule's topic template, or undefined when it is a placeholder or a wildcard. */
function literalFirstLevel(topic: string): string | undefined {
  if (topic.startsWith('$share/') || topic.startsWith('$queue/')) return undefined;
  const slash = topic.indexOf('/');
  const first = slash === -1 ? topic : topic.slice(0, slash);
  return first === '+' || first === '#' || first.includes('${') ? undefined : first;
}

/** Runs the rules through the combining algorithm; true when the decision is final (deny-overrides found a deny). */
function scan(
  run: Run,
  rules: readonly CompiledRule[],
  action: Action,
  relation: RuleRelation,
  subscription: boolean,
): boolean {
  for (const rule of rules) {
    if (rule.roleIndex >= 0 && !run.profile.has(rule.roleIndex)) continue;
    const why = conditionFailure(rule, run.profile, run.request, subscription);
    if (run.trace) {
      const entry: ExplainedRule = {
        rule: rule.ref,
        order: rule.order,
        label: rule.label,
        action,
        relation,
        applies: why === undefined,
        ...(why && { why }),
      };
      run.trace.push(entry);
    }
    if (why !== undefined) continue;
    const best = run.best;
    if (run.firstApplicable) {
      if (!best || rule.order < best.order) run.best = rule;
    } else if (rule.effect === 'deny') {
      if (best?.effect !== 'deny') run.best = rule;
      if (!run.trace) return true;
    } else if (!best) {
      run.best = rule;
    }
  }
  return false;
}

/**
 * A principal's own rule (e.g. a token ACL claim) as compiled rules, each with the template to render
 * (an exact topic's renders to itself); a topic that is not a valid filter gets no template.
 */
function compileOwnRule(
  own: PrincipalRule,
  index: number,
  order: number,
): [CompiledRule, TopicTemplate | undefined][] {
  return own.topics.map((topic) => {
    let template: TopicTemplate | undefined;
    if (typeof topic !== 'string') template = exactTemplate(String(topic.eq));
    else {
      try {
        template = compileTopicTemplate(topic);
      } catch {
        template = undefined;
      }
    }
    const rule = compileRule({
      id: `principal#${index}`,
      effect: own.effect,
      order,
      template: template ?? exactTemplate(String(topic)),
      exact: typeof topic !== 'string',
      what: `the principal's own rule #${index}`,
      qos: own.qos,
      // A match condition, as in policy rules: true = retained messages only, false = non-retained only.
      retain: own.retain,
    });
    return [rule, template];
  });
}

/** A static stand-in template for a string used as it is (an exact topic, or a filter that failed to compile). */
function exactTemplate(source: string): TopicTemplate {
  return { source, placeholders: [], isStatic: true, render: () => source };
}

function dedupe(actions: readonly Action[]): Action[] {
  return [...new Set(actions)].filter((a) => (ACTIONS as readonly string[]).includes(a));
}

/** What indexing `denyAll[action]` by a name that is not an action did: a TypeError (the types exclude it). */
function unknownAction(action: string): never {
  throw new TypeError(`not an action: ${String(action)}`);
}

function connectDenial(id: string, source: RuleSource | undefined, message: string): Decision {
  return { allowed: false, reason: 'rule', rule: { id, effect: 'deny', ...(source && { source }) }, message };
}

/**
 * Compiles a policy document already parsed from YAML/JSON (validated here; issues carry paths, not lines).
 *
 * @example
 * ```ts
 * const policy = compilePolicy({ version: 1, roles: { device: { rules: [
 *   { effect: 'allow', actions: 'publish', topics: 'devices/${clientid}/telemetry' } ] } },
 *   users: {}, bindings: [{ when: { method: 'x509' }, roles: ['device'] }] });
 * ```
 */
export function compilePolicy(document: unknown, options: PolicyOptions = {}): Policy {
  return new Policy(
    validateDocument(document, { schema: PolicyDocumentSchema, file: options.file }),
    options,
  );
}

/**
 * Parses and compiles a policy from YAML or JSON text. Throws a `PolicyError` listing every mistake
 * with file:line:column and what to write instead; an invalid policy never loads.
 *
 * @example
 * ```ts
 * const policy = parsePolicy(await readFile('policy.yaml', 'utf8'), { file: 'policy.yaml' });
 * ```
 */
export function parsePolicy(text: string, options: PolicyOptions = {}): Policy {
  const { value, locate } = parseYaml(text, { schema: PolicyDocumentSchema, file: options.file });
  return new Policy(value, { ...options, locate });
}

/**
 * Reads and compiles a policy file (YAML, or JSON).
 *
 * @example
 * ```ts
 * const policy = await loadPolicy('/etc/mqtt-warden/policy.yaml');
 * ```
 */
export async function loadPolicy(file: string, options: Omit<PolicyOptions, 'file'> = {}): Promise<Policy> {
  return parsePolicy(await readPolicyText(file), { ...options, file });
}
