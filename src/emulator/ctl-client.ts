/** Sends one control action to a running emulator over its usbmuxd address. */
import { IbackupError } from '../errors.js';
import type { PlistDict } from '../protocol/plist/index.js';
import { USBMUX_EMULATOR_CONTROL, UsbmuxDecoder, encodeUsbmuxPacket } from '../protocol/usbmux.js';
import { parseSocketAddress, type SocketAddress } from '../transport/address.js';
import { connectSocket, describe } from '../transport/connect.js';

export async function sendControl(
  address: string | SocketAddress,
  request: PlistDict,
  timeoutMs = 30_000,
): Promise<unknown> {
  const addr = typeof address === 'string' ? parseSocketAddress(address) : address;
  const sock = await connectSocket(addr, { timeoutMs }).catch((err: unknown) => {
    throw new IbackupError('USBMUXD_UNREACHABLE', {
      message: `No emulator answers at ${describe(addr)}.`,
      remedy: 'Start one with "ibackup emulator start" and use the address it prints.',
      cause: err,
    });
  });
  try {
    const reply = await new Promise<PlistDict>((resolve, reject) => {
      const decoder = new UsbmuxDecoder();
      const timer = setTimeout(
        () => reject(new IbackupError('TIMEOUT', { message: 'The emulator did not answer.' })),
        timeoutMs,
      );
      sock.on('data', (chunk: Buffer) => {
        try {
          const p = decoder.push(chunk)[0];
          if (p?.kind === 'plist') {
            clearTimeout(timer);
            resolve(p.payload);
          }
        } catch (err) {
          clearTimeout(timer);
          reject(err);
        }
      });
      sock.once('close', () => {
        clearTimeout(timer);
        reject(new IbackupError('CONNECTION_CLOSED', { message: 'The emulator closed the control connection.' }));
      });
      sock.write(encodeUsbmuxPacket({ tag: 1, payload: { ...request, MessageType: USBMUX_EMULATOR_CONTROL } }));
    });
    const json = reply.Json;
    if (typeof json !== 'string') {
      throw new IbackupError('PROTOCOL_DECODE', {
        message: 'That address answered, but not as an ibackup emulator (no control result).',
        remedy: 'Check the address: it must be the one "ibackup emulator start" printed.',
      });
    }
    const value: unknown = JSON.parse(json);
    if (reply.Number !== 0) {
      const e = (value as { error?: { code?: string; message?: string; remedy?: string } }).error;
      throw new IbackupError(e?.code === 'DEVICE_NOT_FOUND' ? 'DEVICE_NOT_FOUND' : 'USAGE', {
        message: e?.message ?? 'The emulator refused the action.',
        ...(e?.remedy ? { remedy: e.remedy } : {}),
      });
    }
    return value;
  } finally {
    sock.destroy();
  }
}
