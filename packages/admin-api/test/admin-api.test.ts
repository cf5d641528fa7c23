import { MemoryRegistry } from '@mqtt-warden/registry';
import { adminApiSuite } from './admin-api-suite.js';

adminApiSuite('admin API on MemoryRegistry', async () => new MemoryRegistry());
