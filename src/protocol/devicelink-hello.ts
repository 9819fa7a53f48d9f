/**
 * The mobilebackup2 Hello exchange inside DeviceLink process messages: the host offers protocol
 * versions as reals, the device answers with the one it chose.
 */
import { real } from './plist/index.js';
import type { DlProcessMessage } from './devicelink.js';

/** Host → device Hello: `{MessageName:"Hello", SupportedProtocolVersions:[2.0, 2.1]}` as reals. */
export function dlHello(versions: readonly number[] = [2.0, 2.1]): DlProcessMessage {
  return {
    name: 'DLMessageProcessMessage',
    message: { MessageName: 'Hello', SupportedProtocolVersions: versions.map(real) },
  };
}

/** Device → host answer to Hello with the chosen version as a real. */
export function dlHelloResponse(version: number): DlProcessMessage {
  return {
    name: 'DLMessageProcessMessage',
    message: { MessageName: 'Response', ErrorCode: 0, ProtocolVersion: real(version) },
  };
}
