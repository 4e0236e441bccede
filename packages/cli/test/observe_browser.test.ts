/**
 * `rigil observe` end to end, in a real browser: three toliman nodes run as OS processes
 * (`rigil start`), `rigil observe` runs as another, and headless Chromium (Debian's `chromium`,
 * driven by playwright-core; test/chromium.sh installs it when missing) opens the page. The page
 * must follow the cluster without reloading: proxima on a; a killed with SIGKILL → a marked
 * down, proxima on b with a failover in its timeline; a restarted → taken back (takeover); the
 * takeover and permit buttons move it; GET /metrics counts the failover and the takeovers.
 * Screenshots go to test-results/observer/*.png.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const BIN = join(ROOT, 'packages', 'cli', 'bin', 'rigil.js');
const TOLIMAN = join(ROOT, 'examples', 'toliman', 'src');
const SHOTS = join(ROOT, 'test-results', 'observer');
const COOKIE = 'observe_browser_test_cookie';
const NAMES = ['a', 'b', 'c'] as const;
type Short = (typeof NAMES)[number];
const full = (s: Short): string => `${s}@127.0.0.1`;

interface Proc {
  readonly child: ChildProcess;
  readonly lines: string[];
  readonly exited: Promise<void>;
}

let dir: string;
const ports = {} as Record<Short, number>;
const nodes = new Map<Short, Proc>();
let observe: Proc | undefined;
let browser: Browser | undefined;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** Runs the rigil command; resolves once a stdout line passes `ready` (with that line). */
function rigil(args: string[], what: string): Promise<{ proc: Proc; line: string }> {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env } });
  const lines: string[] = [];
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  createInterface({ input: child.stderr }).on('line', (l) => lines.push(l));
  const proc = { child, lines, exited };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} printed no ready line within 30 s:\n${lines.slice(-20).join('\n')}`)), 30_000);
    const early = (code: number | null): void => {
      clearTimeout(timer);
      reject(new Error(`${what} exited (${code}) before it was ready:\n${lines.slice(-20).join('\n')}`));
    };
    child.once('exit', early);
    createInterface({ input: child.stdout }).on('line', (l) => {
      if (!l.includes('"event":"ready"')) return;
      clearTimeout(timer);
      child.off('exit', early);
      resolve({ proc, line: l });
    });
  });
}

/** The config of node `s`: the three-node toliman cluster, proxima placed a before b before c. */
function config(s: Short): string {
  const all = NAMES.map(full);
  const cfg = {
    node: { name: full(s), port: ports[s], cookie: COOKIE, seeds: NAMES.filter((o) => o !== s).map((o) => `${full(o)}:${ports[o]}`) },
    kernel: {
      distributed: [{ application: 'proxima', timeout: 1000, nodes: all }],
      syncNodesMandatory: [],
      syncNodesOptional: all,
      syncNodesTimeout: 1000,
    },
    applications: [
      { module: join(TOLIMAN, 'proxima_app.ts'), export: 'proxima' },
      { module: join(TOLIMAN, 'centauri_app.ts'), export: 'centauri', start: true },
    ],
  };
  const path = join(dir, `${s}.json`);
  writeFileSync(path, JSON.stringify(cfg));
  return path;
}

async function startNode(s: Short): Promise<void> {
  const { proc } = await rigil(['start', config(s)], `node ${s}`);
  nodes.set(s, proc);
}

async function kill(p: Proc, signal: NodeJS.Signals): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  p.child.kill(signal);
  await p.exited;
}

/** Waits for `selector` on the page (a deadline, no sleeps), with the page's state in the message. */
async function see(page: Page, selector: string, what: string, timeout = 30_000): Promise<void> {
  try {
    await page.waitForSelector(selector, { timeout, state: 'attached' });
  } catch {
    const apps = await page.locator('#apps').innerText().catch(() => '?');
    const cluster = await page.locator('#nodes').innerText().catch(() => '?');
    throw new Error(`the page did not show ${what} (${selector}) within ${timeout} ms.\nApplications:\n${apps}\nNodes:\n${cluster}\nobserve log:\n${observe?.lines.slice(-10).join('\n')}`);
  }
}

/** Chooses `node` for proxima's actions, clicks `action`, confirms in the dialog. */
async function clickAction(page: Page, action: string, node: string): Promise<void> {
  const app = page.locator('[data-app="proxima"]');
  await app.locator('select[data-field="action-node"]').selectOption(node);
  await app.locator(`button[data-action="${action}"]`).click();
  await page.locator('#confirm-ok').click();
}

async function metrics(url: string, token: string): Promise<string> {
  const r = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
  expect(r.status).toBe(200);
  return r.text();
}

/** The value of one sample of a Prometheus text, or undefined. */
function sample(text: string, line: string): number | undefined {
  const hit = text.split('\n').find((l) => l.startsWith(`${line} `));
  return hit === undefined ? undefined : Number(hit.slice(line.length + 1));
}

async function until<T>(f: () => Promise<T | undefined>, ms: number, what: string): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`${what} within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(() => {
  // Installs Debian's chromium if it is missing (apt-get; .ci/run calls the same script first).
  const out = execFileSync('bash', [join(ROOT, 'packages', 'cli', 'test', 'chromium.sh'), 'ensure'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 600_000 });
  process.env.RIGIL_TEST_CHROMIUM = out.trim().split('\n').pop()!;
  dir = mkdtempSync(join(tmpdir(), 'rigil-observe-'));
  mkdirSync(SHOTS, { recursive: true });
}, 600_000);

afterAll(async () => {
  await browser?.close();
  if (observe !== undefined) await kill(observe, 'SIGTERM');
  await Promise.all([...nodes.values()].map((p) => kill(p, 'SIGKILL')));
  nodes.clear();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe('rigil observe in headless Chromium', () => {
  it('follows a failover, a takeover back and the takeover/permit buttons live, and counts them in /metrics', async () => {
    for (const s of NAMES) ports[s] = await freePort();
    await Promise.all(NAMES.map((s) => startNode(s)));

    const started = await rigil(['observe', `${full('a')}:${ports.a}`, '--cookie', COOKIE], 'rigil observe');
    observe = started.proc;
    const ready = JSON.parse(started.line) as { url: string; metricsUrl: string; metricsToken: string };
    expect(ready.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]+$/);
    const origin = new URL(ready.url).origin;

    // Without the token or the session: 401, for the page, its files, /metrics and the socket.
    expect((await fetch(`${origin}/`)).status).toBe(401);
    expect((await fetch(`${origin}/app.js`)).status).toBe(401);
    expect((await fetch(`${origin}/?token=not-the-token`)).status).toBe(401);
    expect((await fetch(ready.metricsUrl)).status).toBe(401);

    browser = await chromium.launch({ executablePath: process.env.RIGIL_TEST_CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(ready.url);
    // The token was exchanged for a session cookie and left the address bar; it works only once.
    expect(new URL(page.url()).search).toBe('');
    expect((await fetch(ready.url, { redirect: 'manual' })).status).toBe(401);

    await see(page, '#live[data-live="true"]', 'the live socket');
    await see(page, `article.node[data-node="${full('c')}"][data-state="up"]`, 'c up');
    // proxima comes to a: started there, or (a booted last) started elsewhere and taken over by a.
    await see(page, `[data-app="proxima"][data-node="${full('a')}"]`, 'proxima on a');
    await see(page, `[data-app="proxima"] li[data-to="${full('a')}"]`, "proxima's move to a in the timeline");
    const before = await metrics(ready.metricsUrl, ready.metricsToken);
    const counted = (t: string, cause: 'failovers' | 'takeovers'): number => sample(t, `rigil_observe_dist_ac_${cause}_total{application="proxima"}`) ?? 0;
    const takeoversToA = (): Promise<number> => page.locator(`[data-app="proxima"] li[data-cause="takeover"][data-to="${full('a')}"]`).count();
    const takeoversBefore = await takeoversToA();
    // The page is never reloaded: a mark set now must still be there at the end.
    await page.evaluate(() => ((globalThis as unknown as { observeMark: number }).observeMark = 17));
    await page.screenshot({ path: join(SHOTS, '1-proxima-on-a.png'), fullPage: true });

    await kill(nodes.get('a')!, 'SIGKILL');
    await see(page, `article.node[data-node="${full('a')}"][data-state="down"]`, 'a marked down');
    await see(page, `[data-app="proxima"][data-node="${full('b')}"]`, 'proxima on b');
    await see(page, `[data-app="proxima"] li[data-cause="failover"][data-to="${full('b')}"]`, 'the failover to b in the timeline');
    await page.screenshot({ path: join(SHOTS, '2-a-killed-failover-to-b.png'), fullPage: true });

    await startNode('a');
    await see(page, `article.node[data-node="${full('a')}"][data-state="up"]`, 'a up again');
    await see(page, `[data-app="proxima"][data-node="${full('a')}"]`, 'proxima back on a');
    // The newest move (the timeline lists newest first) brought it to a: a takeover from b. (A
    // restarted node now waits for all its sync nodes at once before deciding — the race that
    // could make this a fresh start kept by a reconcile is fixed: packages/testing/FINDINGS.md.)
    const back = await until(
      async () => {
        const newest = page.locator('[data-app="proxima"] li').first();
        return (await newest.getAttribute('data-to')) === full('a') ? ((await newest.getAttribute('data-cause')) ?? undefined) : undefined;
      },
      10_000,
      'no move back to a at the top of the timeline',
    );
    expect(back).toBe('takeover');
    expect(await takeoversToA()).toBe(takeoversBefore + 1);
    await page.screenshot({ path: join(SHOTS, '3-a-restarted-takeover.png'), fullPage: true });

    // The buttons: take proxima over on c, then forbid it there (permit false): it leaves c.
    await clickAction(page, 'takeover', full('c'));
    await see(page, '.toast[data-kind="ok"]', 'the takeover result');
    await see(page, `[data-app="proxima"][data-node="${full('c')}"]`, 'proxima on c');
    await see(page, `[data-app="proxima"] li[data-cause="takeover"][data-to="${full('c')}"]`, 'the takeover to c in the timeline');
    await page.screenshot({ path: join(SHOTS, '4-takeover-button-c.png'), fullPage: true });
    await clickAction(page, 'permit-false', full('c'));
    await see(page, `[data-app="proxima"]:not([data-node="${full('c')}"]):not([data-node=""])`, 'proxima moved off c');
    await see(page, `[data-app="proxima"] li[data-cause="permit"]`, 'the permit move in the timeline');
    await page.screenshot({ path: join(SHOTS, '5-permit-false-c.png'), fullPage: true });
    // The README's picture: the cluster and proxima's timeline.
    await page.locator('.toast').evaluateAll((toasts) => {
      for (const t of toasts) (t as unknown as { remove(): void }).remove();
    });
    await page.setViewportSize({ width: 1240, height: 780 });
    await page.screenshot({ path: join(SHOTS, '6-readme.png') });

    expect(await page.evaluate(() => (globalThis as unknown as { observeMark?: number }).observeMark)).toBe(17);
    expect(errors).toEqual([]);

    // /metrics: the observer counted, since the page first showed proxima on a, the failover and the
    // takeovers (back to a, to c).
    const text = await until(
      async () => {
        const t = await metrics(ready.metricsUrl, ready.metricsToken);
        return counted(t, 'failovers') === counted(before, 'failovers') + 1 && counted(t, 'takeovers') === counted(before, 'takeovers') + 2 ? t : undefined;
      },
      10_000,
      '/metrics did not count one failover and two takeovers (the restart\'s and the button\'s)',
    );
    expect(sample(text, 'rigil_observe_nodes{state="up"}')).toBe(3);
    // Each node's own figures follow, labelled with the node: b counted its failover.
    expect(sample(text, `rigil_dist_ac_failovers_total{node="${full('b')}",application="proxima"}`)).toBe(1);
  }, 240_000);
});
