/**
 * Splits a byte stream into whole TLS records (5-byte header: type, version major/minor, length).
 * Once the session is established, bytes that do not start a TLS record are plaintext: everything
 * from there on is handed back as such (a lockdown frame starts with 0x00, never a record type).
 */

const MIN_TYPE = 20; // change_cipher_spec
const MAX_TYPE = 24; // heartbeat
const HEADER = 5;

export interface SplitResult {
  records: Buffer[];
  /** Set when the stream stopped being TLS: these bytes (and all later ones) are plaintext. */
  plaintext?: Buffer;
}

export class TlsRecordSplitter {
  private buf: Buffer = Buffer.alloc(0);

  /** Feeds bytes; returns every complete record, and the plaintext tail if the stream left TLS. */
  push(chunk: Buffer, established: boolean): SplitResult {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const records: Buffer[] = [];
    let off = 0;
    while (this.buf.length - off >= 1) {
      const type = this.buf[off] as number;
      if (established && (type < MIN_TYPE || type > MAX_TYPE)) {
        const plaintext = this.buf.subarray(off);
        this.buf = Buffer.alloc(0);
        return { records, plaintext };
      }
      if (this.buf.length - off < HEADER) break;
      if (established && this.buf[off + 1] !== 3) {
        const plaintext = this.buf.subarray(off);
        this.buf = Buffer.alloc(0);
        return { records, plaintext };
      }
      const len = this.buf.readUInt16BE(off + 3);
      if (this.buf.length - off < HEADER + len) break;
      records.push(this.buf.subarray(off, off + HEADER + len));
      off += HEADER + len;
    }
    this.buf = off === 0 ? this.buf : this.buf.subarray(off);
    return { records };
  }

  /** Bytes held back (an incomplete record), e.g. to hand over as plaintext. */
  takeRemainder(): Buffer {
    const rest = this.buf;
    this.buf = Buffer.alloc(0);
    return rest;
  }
}
