export { type AclExport, type EmqxAclRule, toEmqxAcl } from './emqx-acl.js';
export {
  type EmqxDecisionEvent,
  type EmqxPluginOptions,
  type EmqxResult,
  emqxPlugin,
} from './emqx-plugin.js';
