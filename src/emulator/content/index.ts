/** The virtual iPhone's content: one import point for the rest of the emulator. */
export { DeviceContent, type ContentOptions, type EntryFilter } from './content.js';
export type { CatalogueStats } from './catalogue.js';
export type { ReadOptions } from './reader.js';
export { memoryOverrideStore, folderOverrideStore, type OverrideStore } from './store.js';
export { parseJournal } from './journal.js';
export * from './model.js';
