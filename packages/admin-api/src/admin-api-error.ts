import { WardenError } from '@mqtt-warden/core';

/** Stable codes of the admin API's own errors (store and policy errors keep their codes). */
export type AdminApiErrorCode =
  | 'ERR_ADMIN_UNAUTHENTICATED'
  | 'ERR_ADMIN_FORBIDDEN'
  | 'ERR_ADMIN_NOT_FOUND'
  | 'ERR_ADMIN_UNSUPPORTED_MEDIA_TYPE'
  | 'ERR_ADMIN_BODY_TOO_LARGE'
  | 'ERR_ADMIN_PRECONDITION'
  | 'ERR_ADMIN_NO_POLICY'
  | 'ERR_POLICY_INVALID'
  | 'ERR_INVALID_INPUT';

/** One located mistake in a request or uploaded document. */
export interface AdminApiIssue {
  readonly path: readonly (string | number)[];
  readonly message: string;
  readonly line?: number;
  readonly column?: number;
}

/**
 * An admin API request that cannot be served as asked. Answered as `{ error: { code, message, issues? } }`
 * with `status`; the message says what to do and never contains a secret.
 *
 * @example
 * ```ts
 * throw new AdminApiError(403, 'ERR_ADMIN_FORBIDDEN', 'this token lacks the "write" scope');
 * ```
 */
export class AdminApiError extends WardenError {
  declare readonly code: AdminApiErrorCode;
  readonly status: number;
  readonly issues: readonly AdminApiIssue[] | undefined;

  constructor(status: number, code: AdminApiErrorCode, message: string, issues?: readonly AdminApiIssue[]) {
    super(code, message);
    this.status = status;
    this.issues = issues;
  }
}
