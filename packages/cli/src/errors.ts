/**
 * Errors of the `rigil` command, each with a stable code and the exit code it maps to.
 *
 * | code | exit | when |
 * |---|---|---|
 * | `ERR_USAGE` | 2 | unknown command or option, missing argument |
 * | `ERR_CONFIG` | 2 | a config file that cannot be read, is not JSON, has an unknown key or a bad value (the message names the key) |
 * | `ERR_APP_MODULE` | 2 | an application module that cannot be imported or does not export an application spec |
 * | `ERR_TSX_MISSING` | 2 | an application module is TypeScript (`.ts`/`.mts`/`.cts`) and `tsx` is not installed: `npm i -D tsx`, or compile it to JavaScript |
 * | `ERR_PORT_IN_USE` | 2 | `rigil start`: another process already listens on `node.port` (the OS's `EADDRINUSE`; @rigil/net's `ERR_ADDRESS_IN_USE`); the message names the key, the host and the port |
 * | `ERR_NOT_LISTENING` | 3 | nothing listens at the node's `host:port` (the connection was refused: `ECONNREFUSED`) — the node is down, or the port is wrong |
 * | `ERR_CONNECT` | 3 | the node cannot be reached for another reason (unknown host, timeout, a TLS failure, not a rigil node); the message says what failed |
 * | `ERR_BAD_COOKIE` | 4 | a node answers at that address but refused the handshake: the cookie is not the cluster's |
 * | `ERR_WRONG_NODE` | 5 | another node answers at that address (the handshake names it): the name or the port is wrong |
 * | `ERR_FAILED` | 1 | the operation ran and failed (an application did not start, an rpc raised) |
 */
import { RigilError } from '@rigil/core';

/** The stable error codes of the CLI. */
export type CliErrorCode =
  | 'ERR_USAGE'
  | 'ERR_CONFIG'
  | 'ERR_APP_MODULE'
  | 'ERR_TSX_MISSING'
  | 'ERR_PORT_IN_USE'
  | 'ERR_NOT_LISTENING'
  | 'ERR_CONNECT'
  | 'ERR_BAD_COOKIE'
  | 'ERR_WRONG_NODE'
  | 'ERR_FAILED';

/**
 * Process exit codes (documented in the README and `rigil --help`): 0 ok, 1 the operation
 * failed, 2 usage or config error, 3 cannot reach the node, 4 wrong cookie, 5 wrong node name.
 */
export const EXIT = { OK: 0, FAILED: 1, USAGE: 2, CONNECT: 3, COOKIE: 4, WRONG_NODE: 5 } as const;

/** An error of the CLI. */
export class CliError extends RigilError {
  override name = 'CliError';
  constructor(code: CliErrorCode, message: string) {
    super(code, message);
  }

  /** The process exit code for this error. */
  get exitCode(): number {
    switch (this.code) {
      case 'ERR_USAGE':
      case 'ERR_CONFIG':
      case 'ERR_APP_MODULE':
      case 'ERR_TSX_MISSING':
      case 'ERR_PORT_IN_USE':
        return EXIT.USAGE;
      case 'ERR_NOT_LISTENING':
      case 'ERR_CONNECT':
        return EXIT.CONNECT;
      case 'ERR_BAD_COOKIE':
        return EXIT.COOKIE;
      case 'ERR_WRONG_NODE':
        return EXIT.WRONG_NODE;
      default:
        return EXIT.FAILED;
    }
  }
}
