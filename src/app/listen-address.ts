/**
 * Socket addresses as the user writes them (`UNIX:/path` or `host:port`), for the commands that
 * listen or connect on an address they are given; a bare path is a usage error.
 */
export { parseSocketAddress, type SocketAddress } from '../transport/address.js';
