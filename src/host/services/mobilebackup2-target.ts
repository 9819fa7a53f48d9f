/**
 * What the mobilebackup2 client serves the device's file requests from and reports to: the
 * backup target (the backup store, which checks every path) and the observer of a run.
 */

/** A file being written for the device. */
export interface TargetFile {
  write(chunk: Uint8Array): Promise<void>;
  /** Bytes written to the file and kept in memory, not yet on disk (optional: none). */
  readonly bufferedBytes?: number;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

export interface TargetEntry {
  name: string;
  type: 'file' | 'directory' | 'other';
  size: number;
  mtime: Date;
}

/**
 * Where the device's requests land: the backup store (paths are checked there). A failure is an
 * errno error or an IbackupError; target-failure.ts turns it into the DeviceLink status.
 */
export interface BackupTarget {
  createFile(path: string): Promise<TargetFile>;
  /** The file's bytes in chunks (throws an errno error when missing). */
  readFile(path: string): AsyncIterable<Uint8Array>;
  mkdirp(path: string): Promise<void>;
  move(from: string, to: string): Promise<void>;
  remove(path: string): Promise<void>;
  copy(from: string, to: string): Promise<void>;
  list(path: string): Promise<TargetEntry[]>;
  freeSpace(): Promise<number>;
}

export interface Mb2Observer {
  /**
   * The device's overall progress, 0–100, as its request carries it; for an upload, with the
   * bytes that upload announces (the figure is where the device will be once they are sent).
   */
  progress?(percent: number, uploadBytes?: number): void;
  /** The device's first message after the request (it may be silent for minutes before it). */
  deviceActive?(): void;
  /** A file from the device was written completely. */
  fileReceived?(path: string, bytes: number): void;
  /** Bytes of file data received (as they arrive). */
  bytes?(n: number): void;
  /** A write failed for lack of space. */
  diskFull?(path: string): void;
  /** A request named an unsafe path or failed locally. */
  problem?(message: string): void;
  /**
   * The device ended a file's upload with an error block: it could not read the file. What it
   * sent is kept (libimobiledevice and pymobiledevice3 keep it too).
   */
  unreadable?(path: string, devicePath: string, reason: string): void;
  /** The device moved an item (after the move succeeded). */
  moved?(from: string, to: string): void;
  /** A message the host does not answer (DLMessagePing, an unknown message): ignored. */
  ignored?(name: string): void;
}
