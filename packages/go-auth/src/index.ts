export { checkAcl, checkSuperuser, checkUser } from './go-auth-checks.js';
export {
  createGoAuthCore,
  GO_AUTH_JSON_KEYS,
  type GoAuthCore,
  type GoAuthInput,
  goAuthFormInput,
} from './go-auth-core.js';
export {
  type GoAuthDecisionEvent,
  type GoAuthPluginOptions,
  type GoAuthResult,
  goAuthPlugin,
  type ResponseMode,
} from './go-auth-plugin.js';
export { aclSchema, superuserSchema, userSchema } from './go-auth-request.js';
