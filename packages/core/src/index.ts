export {
  type AdapterLog,
  type AdapterReply,
  checkedFields,
  invalidInputReply,
  JSON_CONTENT_TYPE,
  jsonReply,
  type ReplySink,
  type SafeParse,
  TEXT_CONTENT_TYPE,
  textReply,
  writeReply,
} from './adapter-reply.js';
export { type Clock, CoarseClock } from './coarse-clock.js';
export { applyConnectUsername, type ConnectUsernameMode, connectUsernameMode } from './connect-username.js';
export { ConfigError, errorCode, InvalidInputError, UnavailableError, WardenError } from './errors.js';
export { FileReadError } from './file-read-error.js';
export { formatIssues, type Issue } from './format-issues.js';
export {
  type AuditContext,
  type AuditEvent,
  type AuthenticationResult,
  createGuard,
  type Guard,
  type GuardLogger,
  type GuardOptions,
  type GuardStats,
} from './guard.js';
export { isMqttString, MQTT_STRING_MESSAGE } from './is-mqtt-string.js';
export { principalKey } from './principal-key.js';
export type { PrincipalQuery, PrincipalResolver } from './principal-resolver.js';
export { resolvePrincipal } from './principal-resolver.js';
export { PlainFormKeys, plainFormKeys, readPlainForm, readPlainFormValues } from './read-plain-form.js';
export { type PlainJsonValue, readPlainJson } from './read-plain-json.js';
export { MAX_HOLD_MS, ReplyHolds } from './reply-holds.js';
export type {
  AccessRequest,
  Action,
  Authenticator,
  AuthOutcome,
  Authorizer,
  ConnectRequest,
  Decision,
  DecisionReason,
  DenyReason,
  ExactTopic,
  Principal,
  PrincipalRule,
  QoS,
  RuleRef,
  RuleSource,
  RuleTopic,
  Transport,
} from './types.js';
export { UrlEncodedForm } from './url-encoded-form.js';
