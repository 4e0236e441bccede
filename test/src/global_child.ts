/**
 * A child OS process for the `global` tests (test/global_os.test.ts): starts a DistNode,
 * registers a global name for one of its own processes (from inside the child, so the
 * registration is done by the child's registrar), and prints one ready line.
 *
 *   node --import tsx test/src/global_child.ts --name c@127.0.0.1 --cookie k --seed t@127.0.0.1:1234 --global-name x
 *
 * It connects to the seeds first (the registration then reaches every node of the cluster),
 * prints `{"ready":true,"name":…,"port":…,"pid":…,"registered":"yes"|"no","holder":"<pid>"}` and
 * waits. It exits when stdin ends (the parent holds the pipe) or on SIGTERM.
 */
import { parseArgs } from 'node:util';
import { DistNode } from '@rigil/net';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      name: { type: 'string' },
      cookie: { type: 'string' },
      seed: { type: 'string', multiple: true, default: [] },
      'global-name': { type: 'string' },
    },
    strict: true,
  });
  if (values.name === undefined || values.cookie === undefined || values['global-name'] === undefined) {
    throw new Error('--name, --cookie and --global-name are required');
  }
  const node = await DistNode.start({ name: values.name, cookie: values.cookie, port: 0, seeds: values.seed });
  for (const seed of values.seed) {
    const peer = seed.slice(0, seed.lastIndexOf(':'));
    if (!(await node.connect(peer))) throw new Error(`cannot connect to ${peer}`);
  }
  const holder = node.spawn(async (self) => {
    await self.receive((m) => m === 'stop');
  });
  const registered = await node.global.register(values['global-name'], holder);

  const stop = (): void => {
    void node.stop().then(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.stdin.on('end', stop);
  process.stdin.on('error', stop);
  process.stdin.resume();
  process.stdout.write(JSON.stringify({ ready: true, name: node.name, port: node.port, pid: process.pid, registered, holder: String(holder) }) + '\n');
}

main().catch((e: unknown) => {
  process.stderr.write(`global_child: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
