/**
 * The device's side of an upload stream (DLMessageUploadFiles): file headers, data blocks of up
 * to 1 MiB, and the block that ends each file, gathered and written to the host together.
 */
import {
  DL_CODE_FILE_DATA,
  encodeDlErrorBlock,
  encodeDlSuccessBlock,
  uploadFileHeaderRoom,
  writeDlUploadFileHeader,
} from '../../../protocol/dl-file-stream.js';
import type { DlConnection } from '../../../transport/dl-connection.js';
import { workWhile } from './idle-work.js';

/** Most file bytes one data block carries. */
const UPLOAD_BLOCK = 1024 * 1024;
/** Gathered bytes that are written at once. */
const OUTBOX_BYTES = 1024 * 1024;
/** Gathered pieces that are written at once (well under the system's limit per write). */
const OUTBOX_PARTS = 512;
const SUCCESS_BLOCK = encodeDlSuccessBlock();

/** Size of the buffers small pieces are copied into. */
const ARENA_BYTES = 64 * 1024;
/** File data shorter than this is copied next to its headers rather than sent as a piece of its own. */
const COPY_BELOW = 512;

/**
 * Pieces of an upload stream waiting to be written together. Headers and small data are copied,
 * one after another, into an arena buffer, so that a write carries few parts and no small
 * buffer is allocated per file; larger file data goes out as it is, without a copy. An arena is
 * only ever filled forward: bytes already queued for the socket are never written again.
 */
export class Outbox {
  private parts: Uint8Array[] = [];
  private bytes = 0;
  private dataBytes = 0;
  private arena = Buffer.allocUnsafeSlow(ARENA_BYTES);
  private used = 0;
  /** Start of the arena bytes not yet in `parts`. */
  private runStart = 0;

  constructor(
    private readonly dl: DlConnection,
    private readonly onBytes: (n: number) => Promise<void> | void,
    /** Work to do while the socket is full (the host is still reading). */
    private readonly whileWaiting: (() => boolean) | undefined,
  ) {}

  get full(): boolean {
    return this.bytes >= OUTBOX_BYTES || this.parts.length >= OUTBOX_PARTS;
  }

  /** The current file's data not yet in a block (a block carries up to UPLOAD_BLOCK bytes). */
  private block: Uint8Array[] = [];
  private blockBytes = 0;

  /**
   * Adds a piece of the current file. Returns a promise only when the outbox had to be written
   * out (then await it before adding more), so a small file costs no promise at all.
   */
  addFileBytes(chunk: Uint8Array): Promise<void> | undefined {
    let wait: Promise<void> | undefined;
    for (let at = 0; at < chunk.length;) {
      const take = Math.min(chunk.length - at, UPLOAD_BLOCK - this.blockBytes);
      this.block.push(take === chunk.length ? chunk : chunk.subarray(at, at + take));
      this.blockBytes += take;
      at += take;
      if (this.blockBytes === UPLOAD_BLOCK) {
        this.endBlock();
        if (this.full) {
          // Rare (a chunk is at most 1 MiB): the rest of the chunk waits for the write.
          const rest = chunk.subarray(at);
          wait = this.flush().then(() => this.addFileBytes(rest));
          break;
        }
      }
    }
    return wait;
  }

  /**
   * Ends the current file: its last block, then the success block — or, when the device could
   * not read the rest of the file, an error block with its reason (code 0x0B, the device's side).
   */
  endFile(failure?: string): void {
    this.endBlock();
    this.add(failure === undefined ? SUCCESS_BLOCK : encodeDlErrorBlock(failure, 'remote'));
  }

  private endBlock(): void {
    if (this.blockBytes === 0) return;
    this.addData(this.block, this.blockBytes);
    this.block = [];
    this.blockBytes = 0;
  }

  private closeRun(): void {
    if (this.used === this.runStart) return;
    this.parts.push(this.arena.subarray(this.runStart, this.used));
    this.runStart = this.used;
  }

  /** Room for `n` more bytes in the arena (a fresh arena when it is full). */
  private room(n: number): void {
    if (this.used + n <= this.arena.length) return;
    this.closeRun();
    this.arena = Buffer.allocUnsafeSlow(Math.max(ARENA_BYTES, n));
    this.used = 0;
    this.runStart = 0;
  }

  /** Writes a file's upload header straight into the arena. */
  addUploadHeader(devicePath: string, backupPath: string): void {
    this.room(uploadFileHeaderRoom(devicePath, backupPath));
    const end = writeDlUploadFileHeader(this.arena, this.used, devicePath, backupPath);
    this.bytes += end - this.used;
    this.used = end;
  }

  /** Copies a small piece into the arena. */
  add(part: Uint8Array): void {
    this.room(part.length);
    this.arena.set(part, this.used);
    this.used += part.length;
    this.bytes += part.length;
  }

  /** A data block: its header and the file bytes it carries. */
  addData(data: Uint8Array[], length: number): void {
    this.room(5);
    this.arena.writeUInt32BE(length + 1, this.used);
    this.arena[this.used + 4] = DL_CODE_FILE_DATA;
    this.used += 5;
    this.bytes += 5;
    for (const d of data) {
      if (d.length < COPY_BELOW) this.add(d);
      else {
        this.closeRun();
        this.parts.push(d);
        this.bytes += d.length;
      }
    }
    this.dataBytes += length;
  }

  async flush(): Promise<void> {
    this.closeRun();
    if (this.parts.length === 0) return;
    const parts = this.parts;
    const data = this.dataBytes;
    this.parts = [];
    this.bytes = 0;
    this.dataBytes = 0;
    const draining = this.dl.writeRaw(...parts);
    if (draining) await workWhile(draining, this.whileWaiting);
    if (data > 0) await this.onBytes(data);
  }
}
