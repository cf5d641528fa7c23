export { type ErlangForm, type ErlangTerm, parseErlangTerms, type TermPosition } from './erlang-terms.js';
export { exportEmqxAcl } from './export-emqx-acl.js';
export { exportMosquittoAcl } from './export-mosquitto-acl.js';
export { type DynsecImportResult, importDynsec } from './import-dynsec.js';
export { type EmqxAclImportOptions, importEmqxAcl } from './import-emqx-acl.js';
export {
  type EmqxHashSettings,
  type EmqxUsersImportOptions,
  importEmqxUsers,
  type UsersImportResult,
} from './import-emqx-users.js';
export { importGoAuthAcl } from './import-go-auth-acl.js';
export {
  type ImportOptions,
  type ImportResult,
  importMosquittoAcl,
  type MosquittoAclImportOptions,
} from './import-mosquitto-acl.js';
export { formatImportReport, type ImportReport, type ReportEntry } from './import-report.js';
export { MigrationError } from './migration-error.js';
export {
  type MosquittoAccess,
  type MosquittoAclFile,
  type MosquittoAclRule,
  parseMosquittoAclFile,
} from './mosquitto-acl-file.js';
export {
  type ActionWord,
  type DraftBinding,
  type DraftRole,
  type DraftRule,
  type PolicyDraft,
  renderPolicyYaml,
} from './policy-draft.js';
export type { ExportOptions, ExportResult } from './policy-source.js';
