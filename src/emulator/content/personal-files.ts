/**
 * The files beside the personal databases: the attachment files sms.db points to that are kept
 * in the backup (MediaDomain Library/SMS/Attachments/…), added when the content is generated and
 * when new messages arrive (attachments the model marks as offloaded to iCloud get no file), and
 * the voicemail audio files (HomeDomain Library/Voicemail/<ROWID>.amr).
 */
import { makeFile, type ContentState } from './entries.js';
import { entryKey, type DeviceEntry } from './model.js';
import { attachmentBackupPath, modelConversations } from './personal-messages.js';
import { attachmentBytes } from './sms-db.js';
import { modelVoicemails, VOICEMAIL_DIR, voicemailAudio } from './voicemail-db.js';

/** Registers a blob file and returns its entry (not yet in the catalogue); undefined when it exists. */
function blobFile(
  st: ContentState,
  domain: string,
  relativePath: string,
  bytes: () => Uint8Array,
  at: number,
): DeviceEntry | undefined {
  const key = entryKey(domain, relativePath);
  if (st.blobs.has(key)) return undefined;
  const data = bytes();
  st.blobs.set(key, data);
  st.builders.set(key, { modifiable: false, build: () => data });
  return makeFile(st, domain, relativePath, { size: data.length, source: 'blob', birth: at, mtime: at });
}

/** Entries for the personal files that have none yet (see the module comment). */
export function newPersonalFiles(st: ContentState): DeviceEntry[] {
  const out: DeviceEntry[] = [];
  for (const v of modelVoicemails(st.seed, st.sizes)) {
    if (!v.audioInBackup) continue;
    const e = blobFile(st, 'HomeDomain', `${VOICEMAIL_DIR}${v.id}.amr`, () => voicemailAudio(st.seed, v), v.date);
    if (e !== undefined) out.push(e);
  }
  for (const m of modelConversations(st.seed, st.sizes, st.major).messages) {
    if (m.deleted) continue;
    for (const a of m.attachments) {
      if (!a.inBackup) continue;
      const { domain, relativePath } = attachmentBackupPath(a.filename);
      const e = blobFile(st, domain, relativePath, () => attachmentBytes(st.seed, a), m.date);
      if (e !== undefined) out.push(e);
    }
  }
  return out;
}
