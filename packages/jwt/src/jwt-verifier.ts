import { UnavailableError } from '@mqtt-warden/core';
import { errors, type JWTHeaderParameters, type JWTPayload, type JWTVerifyOptions, jwtVerify } from 'jose';
import { type KeySource, resolveKeySource } from './key-source.js';
import { TokenError } from './token-error.js';
import { verificationCryptoKey } from './verification-crypto-key.js';

/** Options of {@link createJwtVerifier}. */
export interface JwtVerifierOptions {
  readonly keys: KeySource;
  /** Allowlist; defaults to every algorithm the key type supports. `none` is never accepted. */
  readonly algorithms?: readonly string[];
  /** Expected `iss` (one of). Checked when set. */
  readonly issuer?: string | readonly string[];
  /** Expected `aud` (one of). Checked when set. */
  readonly audience?: string | readonly string[];
  /** Expected `typ` header, e.g. `at+jwt` (RFC 9068). Checked when set. */
  readonly typ?: string;
  /** Claims that must be present. `sub` is always required (it becomes the principal id). */
  readonly requiredClaims?: readonly string[];
  /** Require `exp`, so that no token is valid forever. Default true. */
  readonly requireExpiry?: boolean;
  /** Leeway for `exp` and `nbf`. Default 5 s. */
  readonly clockToleranceSeconds?: number;
  /** Clock in ms; tests inject one. */
  readonly now?: () => number;
}

/** A verified token. */
export interface VerifiedJwt {
  readonly payload: JWTPayload & { readonly sub: string };
  readonly protectedHeader: JWTHeaderParameters;
}

export interface JwtVerifier {
  /** Verifies signature and claims. Throws {@link TokenError}, or UnavailableError when keys cannot be fetched. */
  verify(token: string): Promise<VerifiedJwt>;
}

/**
 * A strict JWT verifier over jose: algorithm allowlist tied to the key type, `exp` required, `nbf`,
 * `iss`, `aud`, `typ` and required claims checked, jose errors translated to {@link TokenError} codes.
 *
 * @example
 * ```ts
 * const verifier = createJwtVerifier({ keys: { jwksUrl: 'https://idp.example.com/jwks' }, issuer: 'https://idp.example.com', audience: 'mqtt' });
 * const { payload } = await verifier.verify(token);
 * ```
 */
export function createJwtVerifier(options: JwtVerifierOptions): JwtVerifier {
  const resolved = resolveKeySource(options.keys, options.algorithms);
  const { algorithms } = resolved;
  let key: unknown = resolved.key;
  if (algorithms.length === 1) {
    // With one algorithm the key can be imported into WebCrypto once; until then, or if that fails
    // (verification would then fail the same way), jose takes the key as configured.
    verificationCryptoKey(key, algorithms[0] as string).then(
      (cryptoKey) => {
        if (cryptoKey) key = cryptoKey;
      },
      () => {},
    );
  }
  const required = new Set(['sub', ...(options.requiredClaims ?? [])]);
  if (options.requireExpiry !== false) required.add('exp');
  const base: JWTVerifyOptions = {
    algorithms: [...algorithms],
    issuer: typeof options.issuer === 'string' ? options.issuer : options.issuer && [...options.issuer],
    audience:
      typeof options.audience === 'string' ? options.audience : options.audience && [...options.audience],
    typ: options.typ,
    requiredClaims: [...required],
    clockTolerance: options.clockToleranceSeconds ?? 5,
  };
  const now = options.now;

  // Plain promise chains, not async functions: one fewer promise and resumption per verification.
  const checked = (result: Awaited<ReturnType<typeof jwtVerify>>): VerifiedJwt => {
    if (typeof result.payload.sub !== 'string' || result.payload.sub === '') {
      throw new TokenError('ERR_TOKEN_CLAIM', 'the "sub" claim must be a non-empty string');
    }
    return { payload: result.payload as VerifiedJwt['payload'], protectedHeader: result.protectedHeader };
  };
  const failed = (error: unknown): never => {
    throw translate(error);
  };

  return {
    verify(token) {
      let verifyOptions = base;
      try {
        if (now) verifyOptions = { ...base, currentDate: new Date(now()) };
      } catch (error) {
        return Promise.reject(error);
      }
      // The union of overloads makes TypeScript pick the resolver form; both are valid at runtime.
      return jwtVerify(token, key as Parameters<typeof jwtVerify>[1], verifyOptions).then(checked, failed);
    },
  };
}

function translate(error: unknown): Error {
  if (error instanceof UnavailableError) return error;
  if (error instanceof errors.JWTExpired) {
    return new TokenError('ERR_TOKEN_EXPIRED', 'the token has expired ("exp" is in the past)', {
      cause: error,
    });
  }
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'nbf') {
      return new TokenError(
        'ERR_TOKEN_NOT_YET_VALID',
        'the token is not valid yet ("nbf" is in the future)',
        {
          cause: error,
        },
      );
    }
    return new TokenError('ERR_TOKEN_CLAIM', `token rejected: ${error.message}`, { cause: error });
  }
  if (error instanceof errors.JOSEAlgNotAllowed) {
    return new TokenError('ERR_TOKEN_ALGORITHM', 'the token algorithm ("alg") is not allowed', {
      cause: error,
    });
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) {
    return new TokenError('ERR_TOKEN_SIGNATURE', 'the token signature is invalid', { cause: error });
  }
  if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) {
    return new TokenError('ERR_TOKEN_KEY', `no single trusted key matches the token's "kid" and "alg"`, {
      cause: error,
    });
  }
  if (error instanceof errors.JOSEError || error instanceof TypeError) {
    // Includes malformed base64url/JSON, unsupported headers (`crit`, `b64`), keys of the wrong type.
    return new TokenError('ERR_TOKEN_MALFORMED', `the token could not be processed: ${error.message}`, {
      cause: error,
    });
  }
  return error instanceof Error ? error : new Error(String(error));
}
