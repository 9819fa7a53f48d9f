/**
 * The attachment files sms.db points to that are kept in the backup (MediaDomain
 * Library/SMS/Attachments/…): added when the content is generated and when new messages arrive.
 * Attachments the model marks as offloaded to iCloud get no file.
 */
import { makeFile, type ContentState } from './entries.js';
import { entryKey, type DeviceEntry } from './model.js';
import { attachmentBackupPath, modelConversations } from './personal-messages.js';
import { attachmentBytes } from './sms-db.js';

/** Entries for the kept attachments that have none yet (registered as blobs, not yet in the catalogue). */
export function newAttachmentFiles(st: ContentState): DeviceEntry[] {
  const out: DeviceEntry[] = [];
  for (const m of modelConversations(st.seed, st.sizes, st.major).messages) {
    if (m.deleted) continue;
    for (const a of m.attachments) {
      if (!a.inBackup) continue;
      const { domain, relativePath } = attachmentBackupPath(a.filename);
      const key = entryKey(domain, relativePath);
      if (st.blobs.has(key)) continue;
      const bytes = attachmentBytes(st.seed, a);
      st.blobs.set(key, bytes);
      st.builders.set(key, { modifiable: false, build: () => bytes });
      out.push(
        makeFile(st, domain, relativePath, { size: bytes.length, source: 'blob', birth: m.date, mtime: m.date }),
      );
    }
  }
  return out;
}
