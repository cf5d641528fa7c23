export { attachGuard } from './attach-guard.js';
export { connackReturnCode } from './connack-return-code.js';
export { type ConnectRequestOptions, connectRequestOf, remoteAddressOf } from './connect-request.js';
export { AuthenticationFailedError, ConnectRefusedError, NotAuthorizedError } from './errors.js';
export {
  type PreConnectInfo,
  type PrincipalChange,
  type PrincipalChanges,
  type WardenHooks,
  type WardenHooksOptions,
  wardenHooks,
} from './warden-hooks.js';
