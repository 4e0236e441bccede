/**
 * A real DNS server for the discovery tests: dnsmasq (installed from Debian's packages by
 * `dnsmasq.sh ensure` when missing), started on a free port of 127.0.0.1 with records of its
 * own — A/AAAA from a hosts file it re-reads on SIGHUP (`setHosts` waits until the answers
 * changed), SRV from its command line — and killed by `stop()` (or, should the test process end
 * without it, by an exit hook).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { Resolver } from 'node:dns/promises';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('./dnsmasq.sh', import.meta.url));

/** name → its addresses (IPv4 and IPv6 mixed). */
export type HostRecords = Record<string, readonly string[]>;

/** An SRV record dnsmasq serves: `name` → `target:port`. */
export interface SrvRecord {
  readonly name: string;
  readonly target: string;
  readonly port: number;
}

/** A running dnsmasq. */
export interface Dnsmasq {
  /** `127.0.0.1:<port>`, for the dns strategy's `server`. */
  readonly server: string;
  readonly port: number;
  /** Replaces the A/AAAA records and resolves once dnsmasq answers with the new ones. */
  setHosts(records: HostRecords): Promise<void>;
  /** Kills dnsmasq (SIGTERM, then SIGKILL after 5 s) and removes its directory. Idempotent. */
  stop(): Promise<void>;
}

/** Options of `startDnsmasq`. */
export interface DnsmasqOptions {
  /** Initial A/AAAA records. */
  hosts?: HostRecords;
  /** SRV records (fixed for the server's life). */
  srv?: readonly SrvRecord[];
  /** Domains dnsmasq answers for alone (NXDOMAIN for unknown names there, not REFUSED). Default `['test']`. */
  localDomains?: readonly string[];
  /** Use this port (e.g. to restart a server where it was); default: a free one. */
  port?: number;
}

let installed: Promise<void> | undefined;

/** Installs dnsmasq if it is missing (once per test process; apt may take minutes). */
export function ensureDnsmasq(timeoutMs = 600_000): Promise<void> {
  installed ??= new Promise<void>((resolve, reject) => {
    execFile('bash', [SCRIPT, 'ensure'], { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, _stdout, stderr) => {
      if (err !== null) reject(new Error(`dnsmasq.sh ensure failed: ${err.message}\n${stderr.slice(-4000)}`));
      else resolve();
    });
  });
  return installed;
}

/** A UDP port of 127.0.0.1 free right now (the OS's pick; dnsmasq's start is retried on a race). */
function freeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    s.once('error', reject);
    s.bind(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Resolves once `p` exited (at once if it has). */
function exited(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => p.once('exit', () => resolve()));
}

function hostsText(records: HostRecords): string {
  const lines: string[] = [];
  for (const [name, ips] of Object.entries(records)) for (const ip of ips) lines.push(`${ip} ${name}`);
  return `${lines.join('\n')}\n`;
}

/** What the server answers for `name`: its sorted addresses ([] for NXDOMAIN/NODATA), or null if it did not answer. */
async function answer(r: Resolver, name: string): Promise<string[] | null> {
  const out: string[] = [];
  for (const q of [r.resolve4.bind(r), r.resolve6.bind(r)]) {
    try {
      out.push(...(await q(name)));
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code !== 'ENOTFOUND' && code !== 'ENODATA') return null;
    }
  }
  return out.sort();
}

/**
 * Starts dnsmasq with `options`' records on a free port of 127.0.0.1 (installing it first if
 * needed) and resolves once it answers.
 */
export async function startDnsmasq(options: DnsmasqOptions = {}): Promise<Dnsmasq> {
  await ensureDnsmasq();
  const dir = mkdtempSync(join(tmpdir(), 'rigil-dnsmasq-'));
  const hostsFile = join(dir, 'hosts');
  let current: HostRecords = { ...(options.hosts ?? {}) };
  writeFileSync(hostsFile, hostsText(current));
  const extra = [
    ...(options.localDomains ?? ['test']).map((d) => `--local=/${d}/`),
    ...(options.srv ?? []).map((s) => `--srv-host=${s.name},${s.target},${s.port}`),
  ];
  let child: ChildProcess | undefined;
  let port = 0;
  let log = '';
  const kill = (): void => {
    if (child !== undefined && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  process.on('exit', kill);
  const resolver = new Resolver({ timeout: 200, tries: 1 });
  try {
    for (let attempt = 1; child === undefined; attempt++) {
      port = options.port ?? (await freeUdpPort());
      const p = spawn('bash', [SCRIPT, 'run', String(port), hostsFile, ...extra], { stdio: ['ignore', 'ignore', 'pipe'] });
      p.stderr.setEncoding('utf8');
      p.stderr.on('data', (d: string) => {
        log = (log + d).slice(-8000);
      });
      resolver.setServers([`127.0.0.1:${port}`]);
      const deadline = Date.now() + 10_000;
      for (;;) {
        if (p.exitCode !== null || p.signalCode !== null) break;
        // Up once it answers anything (NXDOMAIN included): a refused or timed-out query is not an answer.
        if ((await answer(resolver, 'probe.invalid.test')) !== null) {
          child = p;
          break;
        }
        if (Date.now() > deadline) {
          p.kill('SIGKILL');
          await exited(p);
          throw new Error(`dnsmasq did not answer on 127.0.0.1:${port} within 10 s:\n${log}`);
        }
        await new Promise((r) => setTimeout(r, 20));
      }
      if (child === undefined) {
        await exited(p);
        if (attempt >= 5 || options.port !== undefined) throw new Error(`dnsmasq did not start on 127.0.0.1:${port}:\n${log}`);
      }
    }
  } catch (e) {
    process.off('exit', kill);
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const proc = child;
  let stopped = false;
  return {
    server: `127.0.0.1:${port}`,
    port,
    async setHosts(records: HostRecords): Promise<void> {
      const before = current;
      current = { ...records };
      const tmp = `${hostsFile}.new`;
      writeFileSync(tmp, hostsText(current));
      renameSync(tmp, hostsFile);
      proc.kill('SIGHUP');
      const names = new Set([...Object.keys(before), ...Object.keys(current)]);
      const deadline = Date.now() + 10_000;
      for (;;) {
        let same = true;
        for (const name of names) {
          const got = await answer(resolver, name);
          if (got === null || got.join() !== [...(current[name] ?? [])].sort().join()) same = false;
        }
        if (same) return;
        if (Date.now() > deadline) throw new Error(`dnsmasq did not take the new records within 10 s:\n${log}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async stop(): Promise<void> {
      if (stopped) return;
      stopped = true;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await exited(proc);
      clearTimeout(timer);
      process.off('exit', kill);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
