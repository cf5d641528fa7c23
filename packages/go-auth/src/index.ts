export {
  type GoAuthDecisionEvent,
  type GoAuthPluginOptions,
  type GoAuthResult,
  goAuthPlugin,
  type ResponseMode,
} from './go-auth-plugin.js';
