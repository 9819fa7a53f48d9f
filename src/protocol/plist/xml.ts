/** XML property lists (Apple's plist DTD): decoder and encoder. */
export { parseXmlPlist } from './xml-read.js';
export { serializeXmlPlist } from './xml-write.js';
