export { type AclExport, type EmqxAclRule, toEmqxAcl } from './emqx-acl.js';
export { checkAuthn, checkAuthz } from './emqx-checks.js';
export { createEmqxCore, type EmqxCore, type EmqxInput, emqxFormInput, emqxJsonKeys } from './emqx-core.js';
export {
  type EmqxDecisionEvent,
  type EmqxPluginOptions,
  type EmqxResult,
  emqxPlugin,
} from './emqx-plugin.js';
export { authnSchema, authzSchema } from './emqx-request.js';
