import { readFile } from 'node:fs/promises';
import { FileReadError } from '@mqtt-warden/core';

/**
 * Reads a policy (or policy test suite) file as text; a file that cannot be read becomes a
 * {@link FileReadError} naming it and saying what to do (never a bare ENOENT or EISDIR).
 *
 * @example
 * ```ts
 * const policy = parsePolicy(await readPolicyText('policy.yaml'), { file: 'policy.yaml' });
 * ```
 */
export async function readPolicyText(file: string, what = 'policy'): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    throw new FileReadError(file, what, error);
  }
}
