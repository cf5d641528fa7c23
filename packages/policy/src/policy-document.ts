import { isIP } from 'node:net';
import type { RuleTopic } from '@mqtt-warden/core';
import { compileTopicTemplate, TopicError, topicFilterProblem } from '@mqtt-warden/topic';
import { z } from 'zod';
import { clientIdTemplateProblem } from './client-id-rule.js';
import { isKnownPlaceholder, PLACEHOLDER_HELP } from './placeholders.js';
import { closest, strictObject } from './strict-object.js';

/** One string or a list of them; a single string is read as a list of one. */
const oneOrMany = <T extends z.ZodType>(item: T) =>
  z.preprocess(
    (value) => (value === undefined || Array.isArray(value) ? value : [value]),
    z.array(item).min(1, 'must list at least one value'),
  );

const name = z
  .string()
  .regex(/^[A-Za-z0-9_][A-Za-z0-9_.:@-]*$/, 'names use letters, digits and _ . : @ - (e.g. "device-fleet")');

/** A name pattern: `*` matches any run of characters, everything else is literal. */
const pattern = z.string().min(1, 'write a name or a pattern such as "dev-*"');

const topic = z.string().superRefine((source, ctx) => {
  let placeholders: readonly string[];
  try {
    placeholders = compileTopicTemplate(source).placeholders;
  } catch (error) {
    const detail = error instanceof TopicError ? error.message : String(error);
    ctx.addIssue({
      code: 'custom',
      message: `invalid topic filter "${source}": ${detail} (e.g. "devices/\${clientid}/telemetry" or "tenants/+/status/#")`,
    });
    return;
  }
  for (const placeholder of placeholders) {
    if (!isKnownPlaceholder(placeholder)) {
      ctx.addIssue({
        code: 'custom',
        message: `unknown placeholder \${${placeholder}} in "${source}"; ${PLACEHOLDER_HELP}`,
      });
    }
  }
});

/** `{ eq: "a/+" }`: the exact string, no placeholders, no wildcard meaning (EMQX's `eq`). */
const exactTopic = strictObject({
  eq: z
    .string({ error: 'write the exact topic as a string, e.g. { eq: "devices/+/status" }' })
    .superRefine((source, ctx) => {
      const problem = topicFilterProblem(source);
      if (problem) {
        ctx.addIssue({
          code: 'custom',
          message: `exact topic "${source}" is neither a topic name nor a subscription filter (${problem}), so no request could equal it`,
        });
      }
    }),
});

/**
 * A filter string, or an exact topic object; each is checked by its own schema so errors stay precise.
 * The issues are not fatal (as a topic's own are), so the document's cross-reference checks still run.
 */
const ruleTopic = z
  .custom<RuleTopic>(() => true)
  .superRefine((value, ctx) => {
    const result = (typeof value === 'object' && value !== null ? exactTopic : topic).safeParse(value);
    if (result.success) return;
    for (const issue of result.error.issues) {
      ctx.addIssue({ code: 'custom', message: issue.message, path: [...issue.path] as (string | number)[] });
    }
  });

const cidr = z.string().refine(
  (value) => {
    const [address = '', prefix, ...rest] = value.split('/');
    const family = isIP(address);
    if (family === 0 || rest.length > 0) return false;
    if (prefix === undefined) return true;
    const bits = Number(prefix);
    return /^\d{1,3}$/.test(prefix) && bits <= (family === 4 ? 32 : 128);
  },
  { message: 'write an IPv4 or IPv6 address or CIDR block, e.g. "10.0.0.0/8" or "2001:db8::/32"' },
);

/**
 * The client ids a principal may connect with: templates such as `${username}`, `${cert.cn}`,
 * `${username}-*` or `"*"` (any: an explicit opt-out), one or a list (any of).
 */
const clientIdRule = oneOrMany(
  z.string().superRefine((source, ctx) => {
    const problem = clientIdTemplateProblem(source);
    if (problem)
      ctx.addIssue({ code: 'custom', message: `invalid client-id template "${source}": ${problem}` });
  }),
);

export const ACTIONS = ['publish', 'subscribe', 'receive'] as const;
/** Shorthands: `read` = subscribe + receive, `write` = publish, `all` = every action. */
export const ACTION_WORDS = ['publish', 'subscribe', 'receive', 'read', 'write', 'all'] as const;

export const RuleSchema = strictObject({
  /** Optional name shown by explain; unique within the policy. */
  name: name.optional(),
  description: z.string().optional(),
  effect: z.enum(['allow', 'deny']),
  actions: oneOrMany(z.enum(ACTION_WORDS)),
  /** Filters (`devices/${clientid}/#`) or exact topics (`{ eq: "a/+" }`, matched as the string written). */
  topics: oneOrMany(ruleTopic),
  /** The rule applies only to these QoS levels (a request without QoS counts as 0). */
  qos: oneOrMany(z.literal([0, 1, 2])).optional(),
  /** `false`: only non-retained messages; `true`: only retained ones; absent: both. */
  retain: z.boolean().optional(),
  /** The rule applies only to clients connecting from these addresses. */
  from: oneOrMany(cidr).optional(),
  /** `true` or `required`: only over TLS; `false`: only without TLS. */
  tls: z.union([z.boolean(), z.literal('required')], { error: 'write true, false or "required"' }).optional(),
});

/** Conditions on a principal. Each present key must match; patterns use `*`; lists mean any of. */
export const MatcherSchema = strictObject({
  /** `true`: only principals without a proven username (Mosquitto's anonymous clients); `false`: only those with one. */
  anonymous: z.boolean().optional(),
  method: oneOrMany(pattern).optional(),
  username: oneOrMany(pattern).optional(),
  clientid: oneOrMany(pattern).optional(),
  principal: oneOrMany(pattern).optional(),
  group: oneOrMany(pattern).optional(),
  /** Attribute key (e.g. `cert.issuer.cn`, `claims.tenant`, `scope`) → pattern(s); a multi-valued attribute matches when any value does. */
  attributes: z.record(z.string().min(1), oneOrMany(pattern)).optional(),
});

const roleList = z.array(name).min(1, 'list at least one role');

export const PolicyDocumentSchema = strictObject({
  version: z.literal(1, { error: 'write "version: 1" (the only policy format version)' }),
  /** `deny-overrides` (default): any applicable deny wins. `first-applicable`: the first applicable rule in file order wins. */
  combining: z.enum(['deny-overrides', 'first-applicable']).default('deny-overrides'),
  connect: strictObject({
    /** Client ids allowed to connect (patterns); any when absent. */
    clientIds: oneOrMany(pattern).optional(),
    /** Auth methods allowed (`password`, `x509`, `jwt`…); any when absent. */
    methods: oneOrMany(z.string().min(1)).optional(),
  }).optional(),
  /**
   * Client-id binding for principals whose roles set no `clientIds` (and those without roles). Default
   * `["${username}", "${principal}"]`: a client connects only under its own proven name.
   */
  defaults: strictObject({ clientIds: clientIdRule.optional() }).optional(),
  /** Principals that skip topic checks. */
  superusers: z.array(MatcherSchema).optional(),
  /** Username → roles. */
  users: z.record(z.string().min(1), roleList).optional(),
  /** Group name → roles. */
  groups: z.record(z.string().min(1), roleList).optional(),
  bindings: z.array(strictObject({ name: name.optional(), when: MatcherSchema, roles: roleList })).optional(),
  roles: z.record(
    name,
    strictObject({
      description: z.string().optional(),
      /** The client ids a principal with this role may use (any of its roles' rules may admit it). */
      clientIds: clientIdRule.optional(),
      rules: z.array(RuleSchema),
    }),
  ),
}).superRefine((doc, ctx) => {
  // Cross-references: every role named exists; rule names are unique.
  const roles = Object.keys(doc.roles);
  const checkRoles = (list: readonly string[], path: (string | number)[]) => {
    list.forEach((role, i) => {
      if (Object.hasOwn(doc.roles, role)) return;
      const guess = closest(role, roles);
      ctx.addIssue({
        code: 'custom',
        path: [...path, i],
        message: `unknown role "${role}"${guess ? ` (did you mean "${guess}"?)` : ''}; define it under "roles" or use one of: ${roles.join(', ') || '(none defined)'}`,
      });
    });
  };
  for (const [user, list] of Object.entries(doc.users ?? {})) checkRoles(list, ['users', user]);
  for (const [group, list] of Object.entries(doc.groups ?? {})) checkRoles(list, ['groups', group]);
  doc.bindings?.forEach((binding, i) => {
    checkRoles(binding.roles, ['bindings', i, 'roles']);
  });

  const seen = new Map<string, string>();
  const unique = (value: string | undefined, path: (string | number)[]) => {
    if (value === undefined) return;
    const first = seen.get(value);
    if (first) {
      ctx.addIssue({
        code: 'custom',
        path,
        message: `duplicate name "${value}" (already used at ${first}); give each rule and binding its own name`,
      });
    } else {
      seen.set(value, path.join('.'));
    }
  };
  for (const [role, { rules }] of Object.entries(doc.roles)) {
    rules.forEach((rule, i) => {
      unique(rule.name, ['roles', role, 'rules', i, 'name']);
    });
  }
  doc.bindings?.forEach((binding, i) => {
    unique(binding.name, ['bindings', i, 'name']);
  });
});

export type PolicyDocument = z.output<typeof PolicyDocumentSchema>;
export type PolicyRuleDocument = z.output<typeof RuleSchema>;
export type MatcherDocument = z.output<typeof MatcherSchema>;
