import { type FSWatcher, watch } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { AccessRequest, Authorizer, Decision, Principal } from '@mqtt-warden/core';
import type { Explanation } from './explanation.js';
import { type Policy, type PolicyOptions, parsePolicy } from './policy.js';
import { readPolicyText } from './read-policy-text.js';

export interface WatchPolicyOptions extends Omit<PolicyOptions, 'file'> {
  /** Quiet time after the last file event before reloading. Default 100 ms. */
  readonly debounceMs?: number;
  /** Called after a new valid policy replaced the old one. */
  readonly onReload?: (policy: Policy) => void;
  /** Called when the changed file cannot be read or is invalid (a `PolicyError`); the old policy stays. */
  readonly onError?: (error: unknown) => void;
}

/**
 * An {@link Authorizer} backed by a policy file that it reloads when the file changes. A valid new
 * policy replaces the old one atomically (a decision uses one or the other, never a mix) and change
 * listeners run (the guard clears its decision cache); an invalid one is reported and the old one stays.
 * A policy from elsewhere (the registry's active version) can be put in force over the file's with
 * {@link PolicyWatcher.override}.
 */
export class PolicyWatcher implements Authorizer {
  readonly file: string;
  #current: Policy;
  #override: Policy | undefined;
  #text: string;
  readonly #options: WatchPolicyOptions;
  readonly #listeners = new Set<() => void>();
  #watcher: FSWatcher | undefined;
  #timer: NodeJS.Timeout | undefined;
  #reloading: Promise<boolean> = Promise.resolve(false);

  constructor(file: string, initial: Policy, text: string, options: WatchPolicyOptions = {}) {
    this.file = file;
    this.#current = initial;
    this.#text = text;
    this.#options = options;
    const name = basename(file);
    // Watch the directory: editors and config managers replace files by renaming over them.
    this.#watcher = watch(dirname(file), { persistent: false }, (_event, changed) => {
      if (changed === null || changed.toString() === name) this.#schedule();
    });
    this.#watcher.on('error', (error) => options.onError?.(error));
  }

  /** The policy in force: the override when one is set, else the file's. */
  get current(): Policy {
    return this.#override ?? this.#current;
  }

  /** The file's policy, in force when no override is set. */
  get filePolicy(): Policy {
    return this.#current;
  }

  authorize(principal: Principal, request: AccessRequest): Decision {
    return this.current.authorize(principal, request);
  }

  admit(principal: Principal): Decision {
    return this.current.admit(principal);
  }

  explain(principal: Principal, request: AccessRequest): Explanation {
    return this.current.explain(principal, request);
  }

  /**
   * Puts `policy` in force instead of the file's (the file is still watched and reloaded, for when the
   * override is cleared with `undefined`); change listeners run, as for a reload.
   *
   * @example
   * ```ts
   * watcher.override(parsePolicy(version.text, { file: `policy v${version.version}` }));
   * ```
   */
  override(policy: Policy | undefined): void {
    if (policy === this.#override) return;
    this.#override = policy;
    for (const listener of this.#listeners) listener();
  }

  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Reads the file now; resolves true when a new policy took effect. Never rejects. */
  reload(): Promise<boolean> {
    this.#reloading = this.#reloading.then(() => this.#load());
    return this.#reloading;
  }

  /** Stops watching. */
  close(): void {
    clearTimeout(this.#timer);
    this.#watcher?.close();
    this.#watcher = undefined;
  }

  #schedule(): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.reload(), this.#options.debounceMs ?? 100);
  }

  async #load(): Promise<boolean> {
    let next: Policy;
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
      if (text === this.#text) return false;
      next = parsePolicy(text, { ...this.#options, file: this.file });
    } catch (error) {
      this.#options.onError?.(error);
      return false;
    }
    this.#current = next;
    this.#text = text;
    for (const listener of this.#listeners) listener();
    this.#options.onReload?.(next);
    return true;
  }
}

/**
 * Loads a policy file and keeps it current. Rejects with a `PolicyError` when the file is invalid at start.
 *
 * @example
 * ```ts
 * const policy = await watchPolicy('policy.yaml', { onError: (e) => log.error({ err: e }, 'policy not reloaded') });
 * const guard = createGuard({ authenticators, authorizer: policy }); // cache cleared on each reload
 * ```
 */
export async function watchPolicy(file: string, options: WatchPolicyOptions = {}): Promise<PolicyWatcher> {
  const text = await readPolicyText(file);
  return new PolicyWatcher(file, parsePolicy(text, { ...options, file }), text, options);
}
