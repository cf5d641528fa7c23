// @peculiar/x509 needs a Reflect metadata polyfill loaded before it, and a WebCrypto provider.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

// Node's webcrypto is the standard Crypto; the DOM type is not in this project's lib.
x509.cryptoProvider.set(webcrypto as ReturnType<typeof x509.cryptoProvider.get>);

export { x509 };
