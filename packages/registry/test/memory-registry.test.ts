import { MemoryRegistry } from '../src/index.js';
import { registryContract } from './registry-contract.js';

registryContract('MemoryRegistry', async ({ now }) => new MemoryRegistry({ now }));
