/**
 * The trivial distributed applications of the scale benchmark (bench/src/scale.ts): `app0` …
 * `app<n-1>`, each a top supervisor with no children (the cheapest real application tree), no
 * start phases. Used by the node processes (bench/src/scale_node.ts) and by the simulated
 * cluster of the `sim` part. Every start and stop is reported to `onEvent` with its time.
 */
import { supervisor, type ApplicationSpec, type Process, type StartType, type SupervisorBehaviour } from '@rigil/core';

/** The name of the i-th benchmark application. */
export function appName(i: number): string {
  return `app${i}`;
}

/** What a benchmark application reports: its start (with the start type) or its stop. */
export type AppEvent = { readonly app: string; readonly ev: 'start'; readonly type: StartType } | { readonly app: string; readonly ev: 'stop' };

const emptySup: SupervisorBehaviour<undefined> = {
  init: () => ({ flags: { strategy: 'one_for_one', intensity: 1, period: 5 }, children: [] }),
};

/** Specs of `count` benchmark applications; `onEvent` hears each start and stop. */
export function scaleApps(count: number, onEvent: (e: AppEvent) => void): ApplicationSpec[] {
  const specs: ApplicationSpec[] = [];
  for (let i = 0; i < count; i++) {
    const name = appName(i);
    specs.push({
      name,
      version: '0.0.0',
      mod: {
        async start(type: StartType, _args: unknown, self: Process) {
          onEvent({ app: name, ev: 'start', type });
          return supervisor.startLink(self, emptySup, undefined);
        },
        stop() {
          onEvent({ app: name, ev: 'stop' });
        },
      },
    });
  }
  return specs;
}
