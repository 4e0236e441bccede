// An application module in plain JavaScript, started by `rigil start` with no tsx installed.
import { supervisor } from '@rigil/core';

export const app = {
  name: 'outside',
  mod: { start: (_type, _args, self) => supervisor.startLink(self, { init: () => ({ flags: { strategy: 'one_for_one', intensity: 1, period: 5 }, children: [] }) }, undefined) },
};
