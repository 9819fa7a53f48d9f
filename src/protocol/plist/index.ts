/**
 * Plist codecs, binary (bplist00) and XML. `parsePlist` detects the format.
 * Implemented in binary.ts and xml.ts; this module is the one import point for other layers.
 */
export * from './types.js';
export { parseBinaryPlist, serializeBinaryPlist } from './binary.js';
export { parseXmlPlist, serializeXmlPlist } from './xml.js';
export { parsePlist, isBinaryPlist } from './detect.js';
export type { PlistLimits } from './limits.js';
export { DEFAULT_PLIST_LIMITS } from './limits.js';
