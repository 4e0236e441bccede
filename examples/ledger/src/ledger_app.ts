/**
 * The ledger application: a distributed application (`ledger` in the kernel's `distributed`,
 * with `quorum: 'majority'` in the example's node configs) whose supervisor runs the ledger
 * server. Its `start` reads the new instance's placement epoch from dist-ac and hands it to the
 * server, which claims the database's fence with it before serving.
 */
import { genServer, supervisor, type ApplicationSpec, type Process, type SupervisorBehaviour } from '@rigil/core';
import { currentEpoch } from '@rigil/dist-ac';
import type { DistNode } from '@rigil/net';
import { exposeLedgerProcedures } from './client.js';
import { LedgerError } from './errors.js';
import { LEDGER, ledgerServer, type LedgerArgs } from './ledger_server.js';

/**
 * ledger_sup: one_for_one, at most 3 restarts in 10 s — a server whose database connection
 * broke is started again (it claims again with the same epoch); more than that ends the
 * application, which dist-ac does not fail over (a crash is not a node going down).
 */
export const ledgerSup: SupervisorBehaviour<LedgerArgs> = {
  init: (args) => ({
    flags: { strategy: 'one_for_one', intensity: 3, period: 10 },
    children: [
      {
        id: LEDGER,
        // trapExit: the supervisor's shutdown runs `terminate`, which closes the connection.
        start: (sup) => genServer.startLink(sup, ledgerServer, args, { name: LEDGER, trapExit: true }),
        restart: 'permanent',
        shutdown: 5000,
      },
    ],
  }),
};

/** Where the database is: the application's env `url`, else `LEDGER_PG_URL`. */
function databaseUrl(self: Process): string {
  const url = self.node.application.getEnv<string>(LEDGER, 'url') ?? process.env.LEDGER_PG_URL;
  if (typeof url !== 'string' || url === '') throw new LedgerError('ERR_DATABASE', `no database URL: set the ledger application's env "url" or LEDGER_PG_URL`);
  return url;
}

/** The ledger application spec. */
export const ledger: ApplicationSpec = {
  name: LEDGER,
  version: '0.1.0',
  description: 'appends entries to PostgreSQL, fenced by its placement epoch',
  mod: {
    start(_type, _args, self) {
      // The new instance's fencing epoch (dist-ac's; throws ERR_NO_EPOCH outside a distributed
      // start). OTP's dist_ac has no epochs: this is rigil's step-6 addition.
      const args: LedgerArgs = { epoch: currentEpoch(self, LEDGER), url: databaseUrl(self) };
      return supervisor.startLink(self, ledgerSup, args, { name: 'ledger_sup' });
    },
  },
};

/**
 * The ledger application for `rigil start` configs (`"export": "ledgerApp"`): exposes the
 * `ledger.append` / `ledger.info` rpc procedures on the node (so `rigil rpc` can append) and
 * returns the spec. The database URL comes from the config's `env.ledger.url` or LEDGER_PG_URL.
 */
export function ledgerApp(node: DistNode): ApplicationSpec {
  exposeLedgerProcedures(node);
  return ledger;
}
