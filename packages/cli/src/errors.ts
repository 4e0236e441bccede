/**
 * Errors of the `rigil` command, each with a stable code and the exit code it maps to.
 *
 * | code | exit | when |
 * |---|---|---|
 * | `ERR_USAGE` | 2 | unknown command or option, missing argument |
 * | `ERR_CONFIG` | 2 | a config file that cannot be read, is not JSON, has an unknown key or a bad value (the message names the key) |
 * | `ERR_APP_MODULE` | 2 | an application module that cannot be imported or does not export an application spec |
 * | `ERR_TSX_MISSING` | 2 | an application module is TypeScript (`.ts`/`.mts`/`.cts`) and `tsx` is not installed: `npm i -D tsx`, or compile it to JavaScript |
 * | `ERR_CONNECT` | 3 | the node to inspect or call cannot be reached (wrong address, wrong cookie, down) |
 * | `ERR_FAILED` | 1 | the operation ran and failed (an application did not start, an rpc raised) |
 */
import { RigilError } from '@rigil/core';

/** The stable error codes of the CLI. */
export type CliErrorCode = 'ERR_USAGE' | 'ERR_CONFIG' | 'ERR_APP_MODULE' | 'ERR_TSX_MISSING' | 'ERR_CONNECT' | 'ERR_FAILED';

/** Process exit codes (documented in the README and `rigil --help`). */
export const EXIT = { OK: 0, FAILED: 1, USAGE: 2, CONNECT: 3 } as const;

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
        return EXIT.USAGE;
      case 'ERR_CONNECT':
        return EXIT.CONNECT;
      default:
        return EXIT.FAILED;
    }
  }
}
