/** Binary property lists (`bplist00`): decoder and encoder. */
export { parseBinaryPlist } from './binary-read.js';
export { serializeBinaryPlist } from './binary-write.js';
