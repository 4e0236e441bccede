// A TypeScript application module: `rigil start` needs tsx to load it (ERR_TSX_MISSING without).
import { supervisor, type ApplicationSpec } from '@rigil/core';

export const app: ApplicationSpec = {
  name: 'outside_ts',
  mod: { start: (_type, _args, self) => supervisor.startLink(self, { init: () => ({ flags: { strategy: 'one_for_one', intensity: 1, period: 5 }, children: [] }) }, undefined) },
};
