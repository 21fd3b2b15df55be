/**
 * paragen's public API. Everything a Node script needs is a named export here.
 */
export { ParagenError } from './errors.js';
export type { ErrorCode } from './errors.js';
export { Rng } from './rng.js';
export type { RngState } from './rng.js';
export { useBackend, probeBackends, backendChoices } from './backend/index.js';
export type { BackendChoice, BackendName, BackendInfo, Availability } from './backend/index.js';
