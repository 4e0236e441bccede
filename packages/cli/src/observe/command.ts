/**
 * `rigil observe <name@host:port> --cookie C [--port N] [--host H]`: connects as a hidden node,
 * serves the observer page (server.ts) and runs until SIGINT or SIGTERM. Prints one JSON line
 * on stdout once serving: `{"event":"ready","url":…,"metricsUrl":…,"metricsToken":…}` — `url`
 * carries the one-time token; a line for people goes to stderr.
 */
import { CliError, EXIT } from '../errors.js';
import { connectHidden } from '../remote.js';
import { ObserveServer } from './server.js';

/** The options `rigil observe` accepts. */
export const OBSERVE_FLAGS = ['cookie', 'cookie-file', 'port', 'host', 'log-format'];

/** The usage line of `rigil observe`. */
export const OBSERVE_USAGE = 'usage: rigil observe <name@host:port> --cookie C [--port N] [--host H]';

/**
 * Runs `rigil observe` (see the module comment) until a signal; resolves with the exit code
 * (OTP's `observer:start/0`, served as a web page).
 */
export async function observeCommand(positional: string[], flags: Map<string, string | true>, cookie: () => string): Promise<number> {
  if (positional.length !== 1) throw new CliError('ERR_USAGE', OBSERVE_USAGE);
  const portFlag = flags.get('port');
  let port = 0;
  if (portFlag !== undefined) {
    if (typeof portFlag !== 'string' || !/^\d{1,5}$/.test(portFlag) || Number(portFlag) > 65535) throw new CliError('ERR_USAGE', '--port must be an integer from 0 to 65535');
    port = Number(portFlag);
  }
  const hostFlag = flags.get('host');
  if (hostFlag !== undefined && (typeof hostFlag !== 'string' || !/^[A-Za-z0-9.:-]{1,253}$/.test(hostFlag))) throw new CliError('ERR_USAGE', '--host must be an address or a host name');
  const host = typeof hostFlag === 'string' ? hostFlag : '127.0.0.1';
  const { probe, name } = await connectHidden(positional[0]!, cookie());
  let server: ObserveServer;
  try {
    server = await ObserveServer.start({ probe, target: name, host, port });
  } catch (e) {
    await probe.stop();
    if ((e as { code?: unknown }).code === 'EADDRINUSE') throw new CliError('ERR_PORT_IN_USE', `--port: port ${port} on ${host} is already in use; choose another (0: any free one)`);
    throw e;
  }
  let done!: (signal: string) => void;
  const signalled = new Promise<string>((resolve) => (done = resolve));
  const onTerm = (): void => done('SIGTERM');
  const onInt = (): void => done('SIGINT');
  process.once('SIGTERM', onTerm);
  process.once('SIGINT', onInt);
  const metricsUrl = `${server.origin}/metrics`;
  process.stdout.write(`${JSON.stringify({ event: 'ready', node: name, url: server.url, metricsUrl, metricsToken: server.metricsToken })}\n`);
  process.stderr.write(`rigil observe: watching ${name}; open ${server.url} (the token works once)\n`);
  process.stderr.write(`rigil observe: metrics at ${metricsUrl} (Authorization: Bearer ${server.metricsToken})\n`);
  if (host !== '127.0.0.1' && host !== 'localhost' && host !== '::1') process.stderr.write(`rigil observe: warning: serving on ${host}, not only this machine: anyone who gets the URL before you use it can act on the cluster\n`);
  const signal = await signalled;
  process.off('SIGTERM', onTerm);
  process.off('SIGINT', onInt);
  process.stderr.write(`rigil observe: ${signal}: stopping\n`);
  await server.stop();
  await probe.stop();
  return EXIT.OK;
}
