export { ADMIN_SERVER_OPTIONS, type AdminApiOptions, adminApi, normaliseSubject } from './admin-api.js';
export { AdminApiError, type AdminApiErrorCode, type AdminApiIssue } from './admin-api-error.js';
export type { AdminCaller, AdminRoute } from './admin-route.js';
export { type AdminServerOptions, createAdminServer } from './admin-server.js';
export {
  ADMIN_TOKEN_PREFIX,
  createAdminToken,
  type IssuedAdminToken,
  verifyAdminToken,
} from './admin-token.js';
export { IMPORT_BATCH_ROWS } from './device-import.js';
export { lineDiff } from './line-diff.js';
export { ADMIN_PREFIX, openApiDocument } from './openapi.js';
export {
  policySimulator,
  type SimulatePolicy,
  type ValidatePolicy,
  validatePolicyText,
} from './policy-tools.js';
