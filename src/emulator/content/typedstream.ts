/**
 * The smallest NSAttributedString typedstream Messages stores in message.attributedBody (and in
 * the edit history of message_summary_info): the stream header, the NSAttributedString and
 * NSString class chain, then the string as "+", its UTF-8 length (one byte below 0x80, else 0x81
 * and two bytes, or 0x82 and four, little-endian) and bytes, then one attribute run. The layout
 * follows what ReagentX/imessage-exporter (streamtyped) and public write-ups read back.
 */
const HEAD = Buffer.from(
  '\x04\x0bstreamtyped\x81\xe8\x03\x84\x01@\x84\x84\x84\x12NSAttributedString\x00\x84\x84\x08NSObject\x00\x85\x92\x84\x84\x84\x08NSString\x01\x94\x84\x01+',
  'latin1',
);
const TAIL = Buffer.from('\x86\x84\x02iI\x01', 'latin1');

function lengthBytes(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  if (n <= 0xffff) {
    const b = Buffer.alloc(3);
    b[0] = 0x81;
    b.writeUInt16LE(n, 1);
    return b;
  }
  const b = Buffer.alloc(5);
  b[0] = 0x82;
  b.writeUInt32LE(n, 1);
  return b;
}

/** The attributedBody of a plain text. */
export function attributedBody(text: string): Uint8Array {
  const utf8 = Buffer.from(text, 'utf8');
  const units = Buffer.from(text, 'utf16le').length / 2;
  return new Uint8Array(
    Buffer.concat([HEAD, lengthBytes(utf8.length), utf8, TAIL, lengthBytes(units), Buffer.from([0x92, 0x84, 0x84])]),
  );
}
