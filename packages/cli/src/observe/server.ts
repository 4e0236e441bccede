/**
 * The observe server: HTTP on 127.0.0.1 (another address only when asked) serving the page
 * (static files shipped in the package, static/observe/), a WebSocket that pushes the
 * collector's view and answers the page's requests (a page of processes, a supervision tree,
 * an action), and `/metrics`.
 *
 * Access: the printed URL carries a one-time token; the first request with it gets a session
 * cookie (HttpOnly, SameSite=Strict) and a redirect to a URL without it, and the token is then
 * spent. Every other request needs the session cookie (401 without it), and `/metrics` takes
 * the session or `Authorization: Bearer <metrics token>` (also printed, for a scraper).
 * The Host header must name the address served (no DNS rebinding), a WebSocket's Origin must
 * be the page's own (no cross-site WebSocket), and the page's Content-Security-Policy allows
 * only its own scripts and styles. OTP's observer is a wx GUI on the node; no counterpart.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { parsePid, type DistNode } from '@rigil/net';
import { WebSocketServer, type WebSocket } from 'ws';
import { ClusterCollector, type ClusterView } from './collector.js';
import { renderObserveMetrics } from './metrics.js';

/** Where the page's files are (the package ships static/; this file is src/observe or build/observe). */
export const STATIC_DIR = fileURLToPath(new URL('../../static/observe/', import.meta.url));

/** The files the page is made of, with their content types (nothing else is served). */
const FILES: Record<string, string> = {
  '/': 'index.html',
  '/app.js': 'app.js',
  '/style.css': 'style.css',
};
const TYPES: Record<string, string> = { html: 'text/html; charset=utf-8', js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8' };

/** Milliseconds between two refreshes of a page's process table or tree. */
export const REFRESH_MS = 1000;
/** Rows of the process table per page. */
export const PAGE_ROWS = 50;
/** Largest WebSocket message accepted from the page, in bytes. */
const MAX_REQUEST = 4096;
const SESSION_COOKIE = 'rigil_observe';

/** Options of `ObserveServer.start`. */
export interface ObserveOptions {
  /** The hidden node connected to `target`. */
  readonly probe: DistNode;
  /** The node the observer was pointed at. */
  readonly target: string;
  /** Address to listen on (default 127.0.0.1). */
  readonly host?: string;
  /** Port (default 0: a free one). */
  readonly port?: number;
}

/** What one page (one WebSocket) asked to follow. */
interface Follow {
  processes?: { node: string; sort: 'mailbox' | 'reductions' | 'memory'; offset: number };
  tree?: { node: string; app: string };
}

/** A request from the page. */
type Request =
  | { type: 'processes'; node: string; sort?: string; offset?: number }
  | { type: 'tree'; node: string; app: string }
  | { type: 'action'; id: number; action: 'takeover' | 'permit' | 'kill'; node: string; app?: string; flag?: boolean; pid?: string };

const tokenOk = (given: string | undefined | null, want: string | undefined): boolean => {
  if (typeof given !== 'string' || want === undefined || given.length !== want.length) return false;
  return timingSafeEqual(Buffer.from(given), Buffer.from(want));
};

/** The observe server (see the module comment). */
export class ObserveServer {
  /** The one-time token of the printed URL; undefined once spent. */
  private token: string | undefined = randomBytes(24).toString('base64url');
  /** Sessions the token was exchanged for (one). */
  private readonly sessions = new Set<string>();
  /** The bearer token `/metrics` accepts (reusable). */
  readonly metricsToken = randomBytes(24).toString('base64url');
  private readonly sockets = new Map<WebSocket, Follow>();
  private readonly refresher: NodeJS.Timeout;
  private readonly wss: WebSocketServer;
  private readonly unsubscribe: () => void;

  private constructor(
    private readonly http: Server,
    readonly collector: ClusterCollector,
    readonly probe: DistNode,
    readonly host: string,
    readonly port: number,
  ) {
    this.wss = new WebSocketServer({ noServer: true, maxPayload: MAX_REQUEST });
    http.on('request', (req: IncomingMessage, res: ServerResponse) => void this.onRequest(req, res));
    http.on('upgrade', (req: IncomingMessage, socket, head) => {
      if (!this.hostOk(req) || req.url !== '/ws' || req.headers.origin !== this.origin || !this.sessionOf(req)) {
        socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\n\r\n');
        return;
      }
      this.wss.handleUpgrade(req, socket, head, (ws) => this.onSocket(ws));
    });
    this.unsubscribe = collector.onChange((v) => this.broadcast({ type: 'view', view: v }));
    this.refresher = setInterval(() => this.refreshAll(), REFRESH_MS);
  }

  /** Starts the collector and the HTTP server; rejects with the listen error (e.g. EADDRINUSE). OTP's `observer:start/0`, as a web server. */
  static async start(o: ObserveOptions): Promise<ObserveServer> {
    const host = o.host ?? '127.0.0.1';
    const http = createServer();
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(o.port ?? 0, host, () => {
        http.off('error', reject);
        resolve();
      });
    });
    const port = (http.address() as AddressInfo).port;
    const collector = new ClusterCollector(o.probe, o.target);
    const server = new ObserveServer(http, collector, o.probe, host, port);
    collector.start();
    return server;
  }

  /** `http://host:port` as a browser writes it (no OTP counterpart). */
  get origin(): string {
    return `http://${this.host.includes(':') ? `[${this.host}]` : this.host}:${this.port}`;
  }

  /** The URL to open: the page with the one-time token (no OTP counterpart). */
  get url(): string {
    return `${this.origin}/?token=${this.token ?? ''}`;
  }

  /** Stops the server, its sockets and the collector, not the hidden node (OTP's `observer:stop/0`). */
  async stop(): Promise<void> {
    clearInterval(this.refresher);
    this.unsubscribe();
    for (const ws of this.sockets.keys()) ws.terminate();
    this.sockets.clear();
    this.wss.close();
    this.http.closeAllConnections();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
    await this.collector.stop();
  }

  private hostOk(req: IncomingMessage): boolean {
    const h = req.headers.host;
    if (h === undefined) return false;
    const allowed = [this.origin.slice('http://'.length)];
    if (this.host === '127.0.0.1') allowed.push(`localhost:${this.port}`);
    return allowed.includes(h);
  }

  private sessionOf(req: IncomingMessage): boolean {
    for (const part of (req.headers.cookie ?? '').split(';')) {
      const [k, v] = part.trim().split('=');
      if (k === SESSION_COOKIE && v !== undefined) for (const s of this.sessions) if (tokenOk(v, s)) return true;
    }
    return false;
  }

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const security = {
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
      'Cache-Control': 'no-store',
    };
    const send = (status: number, body: string, type = 'text/plain; charset=utf-8', extra: Record<string, string> = {}): void => {
      res.writeHead(status, { 'Content-Type': type, ...security, ...extra });
      res.end(body);
    };
    try {
      if (!this.hostOk(req)) return send(403, 'forbidden: unexpected Host header\n');
      const url = new URL(req.url ?? '/', this.origin);
      if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'method not allowed\n', undefined, { Allow: 'GET, HEAD' });
      if (url.pathname === '/metrics') {
        const bearer = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
        if (!this.sessionOf(req) && !tokenOk(bearer, this.metricsToken)) return send(401, 'unauthorized: send Authorization: Bearer <metrics token> (printed by rigil observe)\n');
        return send(200, await this.metrics(), 'text/plain; version=0.0.4; charset=utf-8');
      }
      const given = url.searchParams.get('token');
      if (url.pathname === '/' && given !== null) {
        if (!tokenOk(given, this.token)) return send(401, 'unauthorized: this token is not valid (it works once; restart rigil observe for a new one)\n');
        // The one-time token becomes a session cookie, and the address bar loses the token.
        this.token = undefined;
        const session = randomBytes(24).toString('base64url');
        this.sessions.add(session);
        return send(303, '', undefined, { Location: '/', 'Set-Cookie': `${SESSION_COOKIE}=${session}; HttpOnly; SameSite=Strict; Path=/` });
      }
      if (!this.sessionOf(req)) return send(401, 'unauthorized: open the URL rigil observe printed (with its token)\n');
      const file = FILES[url.pathname];
      if (file === undefined) return send(404, 'not found\n');
      const body = await readFile(`${STATIC_DIR}${file}`, 'utf8');
      const csp = `default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self' ws://${this.origin.slice('http://'.length)}; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;
      return send(200, body, TYPES[file.split('.').pop()!], { 'Content-Security-Policy': csp, 'X-Frame-Options': 'DENY' });
    } catch (e) {
      if (!res.headersSent) send(500, `error: ${(e as Error).message}\n`);
      else res.destroy();
    }
  }

  /** `/metrics`: the cluster figures and every answering node's own metrics. */
  private async metrics(): Promise<string> {
    const view = this.collector.current;
    const perNode = await Promise.all(
      view.nodes.map(async (n) => {
        if (!n.up) return { node: n.name, text: undefined };
        try {
          const text = await this.probe.rpc.call(n.name, 'metrics', [], 2000);
          return { node: n.name, text: typeof text === 'string' ? text : undefined };
        } catch {
          return { node: n.name, text: undefined };
        }
      }),
    );
    return renderObserveMetrics(view, this.collector.moveCounts, perNode);
  }

  private onSocket(ws: WebSocket): void {
    this.sockets.set(ws, {});
    ws.on('close', () => this.sockets.delete(ws));
    ws.on('error', () => this.sockets.delete(ws));
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      let req: Request;
      try {
        req = JSON.parse(String(data)) as Request;
      } catch {
        return;
      }
      void this.onMessage(ws, req);
    });
    this.send(ws, { type: 'hello', pageRows: PAGE_ROWS });
    this.send(ws, { type: 'view', view: this.collector.current });
  }

  private async onMessage(ws: WebSocket, req: Request): Promise<void> {
    const follow = this.sockets.get(ws);
    if (follow === undefined || typeof req !== 'object' || req === null) return;
    const known = (n: unknown): n is string => typeof n === 'string' && this.collector.current.nodes.some((x) => x.name === n);
    if (req.type === 'processes' && known(req.node)) {
      const sort = req.sort === 'reductions' || req.sort === 'memory' ? req.sort : 'mailbox';
      const offset = Number.isSafeInteger(req.offset) && req.offset! >= 0 ? req.offset! : 0;
      follow.processes = { node: req.node, sort, offset };
      await this.sendProcesses(ws, follow);
    } else if (req.type === 'tree' && known(req.node) && typeof req.app === 'string' && req.app.length <= 200) {
      follow.tree = { node: req.node, app: req.app };
      await this.sendTree(ws, follow);
    } else if (req.type === 'action' && Number.isSafeInteger(req.id)) {
      this.send(ws, { type: 'result', id: req.id, ...(await this.act(req)) });
      this.collector.kick();
      await this.refresh(ws);
    }
  }

  /**
   * Runs an action the page confirmed: `application.takeover(app)` or `application.permit(app,
   * flag)` on the chosen node (control built-ins of nodes `rigil start` started), or an exit
   * signal `kill` to a process (OTP's observer "Kill process": `exit(Pid, kill)`).
   */
  private async act(req: Extract<Request, { type: 'action' }>): Promise<{ ok: boolean; result?: unknown; error?: string }> {
    try {
      if (typeof req.node !== 'string' || !this.collector.current.nodes.some((n) => n.name === req.node && n.up)) return { ok: false, error: `${String(req.node)} is not a node that answers` };
      if (req.action === 'takeover' || req.action === 'permit') {
        if (typeof req.app !== 'string' || req.app === '') return { ok: false, error: 'no application given' };
        const args = req.action === 'takeover' ? [req.app] : [req.app, req.flag === true];
        const result = await this.probe.rpc.call(req.node, `application.${req.action}`, args, 30_000);
        const failed = typeof result === 'object' && result !== null && 'error' in result;
        return failed ? { ok: false, error: JSON.stringify((result).error) } : { ok: true, result: result ?? null };
      }
      if (req.action === 'kill') {
        const p = typeof req.pid === 'string' ? parsePid(req.pid) : undefined;
        if (p === undefined || p.node !== req.node) return { ok: false, error: `not a pid of ${req.node}: ${String(req.pid).slice(0, 100)}` };
        // An exit signal with reason kill from the hidden node (OTP: exit(Pid, kill) — untrappable).
        this.probe.exit(this.probe.internPid(p.node, p.id, p.creation), 'kill');
        return { ok: true, result: 'kill sent' };
      }
      return { ok: false, error: 'unknown action' };
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      return { ok: false, error: `${typeof code === 'string' ? `${code}: ` : ''}${(e as Error).message}`.slice(0, 500) };
    }
  }

  private async sendProcesses(ws: WebSocket, follow: Follow): Promise<void> {
    const f = follow.processes;
    if (f === undefined) return;
    try {
      const page = await this.probe.rpc.call(f.node, 'processes', [{ sort: f.sort, offset: f.offset, limit: PAGE_ROWS }], 2000);
      if (follow.processes === f) this.send(ws, { type: 'processes', node: f.node, page });
    } catch (e) {
      if (follow.processes === f) this.send(ws, { type: 'processes', node: f.node, error: (e as Error).message.slice(0, 300) });
    }
  }

  private async sendTree(ws: WebSocket, follow: Follow): Promise<void> {
    const t = follow.tree;
    if (t === undefined) return;
    try {
      const tree = await this.probe.rpc.call(t.node, 'application.tree', [t.app], 3000);
      if (follow.tree === t) this.send(ws, { type: 'tree', node: t.node, app: t.app, tree });
    } catch (e) {
      if (follow.tree === t) this.send(ws, { type: 'tree', node: t.node, app: t.app, error: (e as Error).message.slice(0, 300) });
    }
  }

  private async refresh(ws: WebSocket): Promise<void> {
    const follow = this.sockets.get(ws);
    if (follow === undefined) return;
    await Promise.all([this.sendProcesses(ws, follow), this.sendTree(ws, follow)]);
  }

  private refreshAll(): void {
    for (const ws of this.sockets.keys()) void this.refresh(ws);
  }

  private broadcast(msg: { type: 'view'; view: ClusterView }): void {
    for (const ws of this.sockets.keys()) this.send(ws, msg);
  }

  private send(ws: WebSocket, msg: unknown): void {
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(msg));
  }
}
