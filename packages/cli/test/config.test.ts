/**
 * The `rigil start` config file: every key is validated, and an unknown key or a bad value is
 * an `ERR_CONFIG` error whose message names the key (packages/cli/src/config.ts).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkConfig, cookieOf, cookieWarning, MIN_COOKIE_LENGTH, readConfig, tlsOf } from '../src/config.js';
import { CliError, EXIT } from '../src/errors.js';

const DIR = '/srv/rigil';

/** A valid config; tests change one thing at a time. */
function good(): Record<string, any> {
  return {
    node: { name: 'a@127.0.0.1', port: 9101, host: '127.0.0.1', cookie: 'secret', seeds: ['b@127.0.0.1:9102', 'ws://10.0.0.2:9100'], tickTime: 1000 },
    kernel: {
      distributed: [{ application: 'proxima', timeout: 1000, nodes: ['a@127.0.0.1', ['b@127.0.0.1', 'c@127.0.0.1']] }],
      syncNodesMandatory: [],
      syncNodesOptional: ['b@127.0.0.1'],
      syncNodesTimeout: 1000,
      permissions: { proxima: true },
    },
    applications: [
      { module: './src/proxima_app.ts', export: 'proxima' },
      { module: './src/centauri_app.ts', export: 'centauri', start: true, restartType: 'permanent' },
    ],
    env: { centauri: { greeting: 'hello' } },
  };
}

/** The error `checkConfig` throws for `raw`; fails the test when it does not throw one. */
function configError(raw: unknown): CliError {
  let thrown: unknown;
  try {
    checkConfig(raw, DIR);
  } catch (e) {
    thrown = e;
  }
  expect(thrown, 'expected the config to be rejected with a CliError').toBeInstanceOf(CliError);
  const e = thrown as CliError;
  expect(e.code).toBe('ERR_CONFIG');
  expect(e.exitCode).toBe(EXIT.USAGE);
  return e;
}

/** `good()` with `edit` applied. */
function withEdit(edit: (c: Record<string, any>) => void): Record<string, any> {
  const c = good();
  edit(c);
  return c;
}

describe('checkConfig', () => {
  it('accepts a full valid config and returns its sections with the directory', () => {
    const c = checkConfig(good(), DIR);
    expect(c.dir).toBe(DIR);
    expect(c.node).toEqual(good().node);
    expect(c.kernel).toEqual(good().kernel);
    expect(c.applications).toEqual(good().applications);
    expect(c.env).toEqual({ centauri: { greeting: 'hello' } });
  });

  it('accepts a minimal config and fills the optional sections with empty values', () => {
    const c = checkConfig({ node: { name: 'n@localhost', cookieFile: 'cookie.txt' } }, DIR);
    expect(c.kernel).toEqual({});
    expect(c.applications).toEqual([]);
    expect(c.env).toEqual({});
    expect(c.node.cookieFile).toBe('cookie.txt');
  });

  it('accepts the boundary values of port and tickTime', () => {
    for (const port of [0, 65535]) expect(checkConfig(withEdit((c) => (c.node.port = port)), DIR).node.port).toBe(port);
    expect(checkConfig(withEdit((c) => (c.node.tickTime = 40)), DIR).node.tickTime).toBe(40);
  });

  it('takes log.format text or json, and names log.format or the unknown log key otherwise', () => {
    expect(checkConfig(good(), DIR).log).toEqual({});
    expect(checkConfig(withEdit((c) => (c.log = { format: 'json' })), DIR).log).toEqual({ format: 'json' });
    expect(checkConfig(withEdit((c) => (c.log = { format: 'text' })), DIR).log).toEqual({ format: 'text' });
    expect(configError(withEdit((c) => (c.log = { format: 'xml' }))).message).toBe('config log.format: must be one of text, json');
    expect(configError(withEdit((c) => (c.log = { colour: true }))).message).toMatch(/^config log\.colour: unknown key/);
    expect(configError(withEdit((c) => (c.log = 'json'))).message).toMatch(/^config log: must be an object/);
  });

  it('rejects a config that is not an object', () => {
    for (const raw of [null, [], 'a@127.0.0.1', 42]) expect(configError(raw).message).toMatch(/top level/);
  });

  describe('unknown keys are errors naming the key', () => {
    it.each([
      ['top level', (c: Record<string, any>) => (c.nodes = {}), 'nodes'],
      ['node.*', (c: Record<string, any>) => (c.node.cokie = 'x'), 'node.cokie'],
      ['node.* (a key of another section)', (c: Record<string, any>) => (c.node.applications = []), 'node.applications'],
      ['applications[0].*', (c: Record<string, any>) => (c.applications[0].exports = 'proxima'), 'applications[0].exports'],
      ['applications[1].*', (c: Record<string, any>) => (c.applications[1].restart = 'permanent'), 'applications[1].restart'],
    ])('%s', (_where, edit, key) => {
      const e = configError(withEdit(edit));
      expect(e.message).toContain(key);
      expect(e.message).toMatch(/unknown key/);
    });

    it('kernel.*', () => {
      const e = configError(withEdit((c) => (c.kernel.syncNodesTimeoutMs = 10)));
      expect(e.message).toContain('kernel');
      expect(e.message).toContain('syncNodesTimeoutMs');
      expect(e.message).toMatch(/unknown/);
    });

    it('kernel.distributed[i].*', () => {
      const e = configError(withEdit((c) => (c.kernel.distributed[0].app = 'proxima')));
      expect(e.message).toContain('kernel');
      expect(e.message).toContain('distributed[0].app');
      expect(e.message).toMatch(/unknown/);
    });
  });

  describe('bad values are errors naming the key', () => {
    it.each<[string, (c: Record<string, any>) => void, string]>([
      ['node missing', (c) => delete c.node, 'node'],
      ['node not an object', (c) => (c.node = 'a@127.0.0.1'), 'node'],
      ['name missing', (c) => delete c.node.name, 'node.name'],
      ['name without a host', (c) => (c.node.name = 'a'), 'node.name'],
      ['name without a name', (c) => (c.node.name = '@127.0.0.1'), 'node.name'],
      ['name with a space', (c) => (c.node.name = 'a b@127.0.0.1'), 'node.name'],
      ['name not a string', (c) => (c.node.name = 7), 'node.name'],
      ['port negative', (c) => (c.node.port = -1), 'node.port'],
      ['port too large', (c) => (c.node.port = 65536), 'node.port'],
      ['port fractional', (c) => (c.node.port = 9100.5), 'node.port'],
      ['port a string', (c) => (c.node.port = '9100'), 'node.port'],
      ['host not a string', (c) => (c.node.host = 127), 'node.host'],
      ['no cookie and no cookieFile', (c) => delete c.node.cookie, 'node.cookie'],
      ['empty cookie', (c) => (c.node.cookie = ''), 'node.cookie'],
      ['cookie not a string', (c) => (c.node.cookie = 1234), 'node.cookie'],
      ['cookieFile not a string', (c) => (c.node.cookieFile = true), 'node.cookieFile'],
      ['seeds not an array', (c) => (c.node.seeds = 'b@127.0.0.1:9102'), 'node.seeds'],
      ['seeds with a non-string', (c) => (c.node.seeds = ['b@127.0.0.1:9102', 9103]), 'node.seeds[1]'],
      ['tickTime too small', (c) => (c.node.tickTime = 39), 'node.tickTime'],
      ['tickTime negative', (c) => (c.node.tickTime = -1000), 'node.tickTime'],
      ['tickTime a string', (c) => (c.node.tickTime = '1000'), 'node.tickTime'],
      ['applications not an array', (c) => (c.applications = { module: './x.ts' }), 'applications'],
      ['application not an object', (c) => (c.applications[1] = './x.ts'), 'applications[1]'],
      ['application without module', (c) => delete c.applications[0].module, 'applications[0].module'],
      ['application with an empty module', (c) => (c.applications[0].module = ''), 'applications[0].module'],
      ['export not a string', (c) => (c.applications[0].export = 1), 'applications[0].export'],
      ['start not a boolean', (c) => (c.applications[1].start = 'yes'), 'applications[1].start'],
      ['bad restartType', (c) => (c.applications[1].restartType = 'forever'), 'applications[1].restartType'],
      ['restartType not a string', (c) => (c.applications[1].restartType = 1), 'applications[1].restartType'],
      ['env not an object', (c) => (c.env = []), 'env'],
      ['env of an application not an object', (c) => (c.env.centauri = 'hello'), 'env.centauri'],
    ])('%s', (_what, edit, key) => {
      const e = configError(withEdit(edit));
      expect(e.message).toContain(`config ${key}:`);
    });

    it('node.discovery: the strategies of @rigil/net, a bad one named by its key', () => {
      const dns = { strategy: 'dns', query: 'rigil.default.svc.cluster.local', nodeBasename: 'rigil', port: 9100, pollMs: 5000, server: '10.96.0.10' };
      expect(checkConfig(withEdit((c) => (c.node.discovery = dns)), DIR).node.discovery).toEqual(dns);
      expect(checkConfig(withEdit((c) => (c.node.discovery = [{ strategy: 'static', nodes: ['b@127.0.0.1:9102'] }, { ...dns, type: 'SRV', port: undefined }])), DIR).node.discovery).toHaveLength(2);
      expect(configError(withEdit((c) => (c.node.discovery = { ...dns, pollMs: 1 }))).message).toMatch(/^config node\.discovery: pollMs must be/);
      expect(configError(withEdit((c) => (c.node.discovery = [{ strategy: 'static', nodes: [] }, { strategy: 'gossip' }]))).message).toMatch(/^config node\.discovery\[1\]: unknown strategy/);
      expect(configError(withEdit((c) => (c.node.discovery = [{ strategy: 'static', nodes: ['b@127.0.0.1:9102', 'not a seed'] }]))).message).toContain('config node.discovery[0].nodes[1]:');
    });

    it('a seed that is neither name@host:port nor a ws(s):// URL', () => {
      // The help text: node.seeds are peers like "b@127.0.0.1:9102" or "ws://10.0.0.2:9100".
      const e = configError(withEdit((c) => (c.node.seeds = ['b@127.0.0.1:9102', 'not a seed'])));
      expect(e.message).toContain('node.seeds');
    });

    it.each<[string, (c: Record<string, any>) => void, string]>([
      ['kernel not an object', (c) => (c.kernel = []), 'kernel'],
      ['distributed not an array', (c) => (c.kernel.distributed = { application: 'proxima' }), 'distributed'],
      ['distributed entry not an object', (c) => (c.kernel.distributed = ['proxima']), 'distributed[0]'],
      ['distributed entry without application', (c) => delete c.kernel.distributed[0].application, 'distributed[0].application'],
      ['distributed entry with an empty application', (c) => (c.kernel.distributed[0].application = ''), 'distributed[0].application'],
      [
        'application listed twice',
        (c) => c.kernel.distributed.push({ application: 'proxima', nodes: ['a@127.0.0.1'] }),
        'distributed[1].application',
      ],
      ['negative timeout', (c) => (c.kernel.distributed[0].timeout = -1), 'distributed[0].timeout'],
      ['timeout a string', (c) => (c.kernel.distributed[0].timeout = '1000'), 'distributed[0].timeout'],
      ['nodes missing', (c) => delete c.kernel.distributed[0].nodes, 'distributed[0].nodes'],
      ['nodes empty', (c) => (c.kernel.distributed[0].nodes = []), 'distributed[0].nodes'],
      ['nodes with an empty group', (c) => (c.kernel.distributed[0].nodes = ['a@127.0.0.1', []]), 'distributed[0].nodes'],
      ['nodes with a bad name', (c) => (c.kernel.distributed[0].nodes = ['a@127.0.0.1', 'b']), 'distributed[0].nodes'],
      ['nodes with a non-string', (c) => (c.kernel.distributed[0].nodes = ['a@127.0.0.1', 3]), 'distributed[0].nodes'],
      ['nodes with a node twice', (c) => (c.kernel.distributed[0].nodes = ['a@127.0.0.1', ['b@127.0.0.1', 'a@127.0.0.1']]), 'distributed[0].nodes'],
      ['second entry bad', (c) => c.kernel.distributed.push({ application: 'other', nodes: 'a@127.0.0.1' }), 'distributed[1].nodes'],
      ['syncNodesMandatory with a bad name', (c) => (c.kernel.syncNodesMandatory = ['b']), 'syncNodesMandatory'],
      ['syncNodesOptional not an array', (c) => (c.kernel.syncNodesOptional = 'b@127.0.0.1'), 'syncNodesOptional'],
      ['syncNodesTimeout negative', (c) => (c.kernel.syncNodesTimeout = -5), 'syncNodesTimeout'],
      ['permissions not an object', (c) => (c.kernel.permissions = ['proxima']), 'permissions'],
      ['permission not a boolean', (c) => (c.kernel.permissions = { proxima: 'yes' }), 'permissions.proxima'],
    ])('kernel: %s', (_what, edit, key) => {
      const e = configError(withEdit(edit));
      expect(e.message).toMatch(/^config kernel\b/);
      expect(e.message).toContain(key);
    });
  });
});

describe('readConfig and cookieOf', () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'rigil-config-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  function readError(path: string): CliError {
    let thrown: unknown;
    try {
      readConfig(path);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(CliError);
    expect((thrown as CliError).code).toBe('ERR_CONFIG');
    expect((thrown as CliError).exitCode).toBe(EXIT.USAGE);
    return thrown as CliError;
  }

  it('reads and validates a file; dir is the directory of the file', () => {
    const path = join(dir, 'node.json');
    writeFileSync(path, JSON.stringify(good()));
    const c = readConfig(path);
    expect(c.dir).toBe(dir);
    expect(c.node.name).toBe('a@127.0.0.1');
    expect(cookieOf(c)).toBe('secret');
  });

  it('a file that does not exist is ERR_CONFIG naming the path', () => {
    const path = join(dir, 'missing.json');
    expect(readError(path).message).toContain(path);
  });

  it('a path that is a directory is ERR_CONFIG naming the path', () => {
    const path = join(dir, 'adir');
    mkdirSync(path);
    expect(readError(path).message).toContain(path);
  });

  it('invalid JSON is ERR_CONFIG naming the path', () => {
    const path = join(dir, 'broken.json');
    writeFileSync(path, '{ "node": { "name": "a@127.0.0.1", }');
    const e = readError(path);
    expect(e.message).toContain(path);
    expect(e.message).toMatch(/JSON/);
  });

  it('a bad value in a file is ERR_CONFIG naming the key', () => {
    const path = join(dir, 'bad.json');
    writeFileSync(path, JSON.stringify(withEdit((c) => (c.node.port = 70000))));
    expect(readError(path).message).toContain('node.port');
  });

  it('cookieFile is read relative to the config file and trimmed', () => {
    mkdirSync(join(dir, 'etc', 'secrets'), { recursive: true });
    writeFileSync(join(dir, 'etc', 'secrets', 'cookie'), '  s3cret-cookie \n\n');
    const path = join(dir, 'etc', 'node.json');
    writeFileSync(path, JSON.stringify({ node: { name: 'a@127.0.0.1', cookieFile: 'secrets/cookie' } }));
    // The current directory is not the config's: a path resolved against it would not exist.
    expect(process.cwd()).not.toBe(join(dir, 'etc'));
    expect(cookieOf(readConfig(path))).toBe('s3cret-cookie');
  });

  it('an absolute cookieFile is used as is', () => {
    const cookie = join(dir, 'cookie.txt');
    writeFileSync(cookie, 'abs\n');
    const path = join(dir, 'sub', 'node.json');
    mkdirSync(join(dir, 'sub'));
    writeFileSync(path, JSON.stringify({ node: { name: 'a@127.0.0.1', cookieFile: cookie } }));
    expect(cookieOf(readConfig(path))).toBe('abs');
  });

  it('an inline cookie wins over cookieFile', () => {
    const path = join(dir, 'node.json');
    writeFileSync(path, JSON.stringify({ node: { name: 'a@127.0.0.1', cookie: 'inline', cookieFile: 'does-not-exist' } }));
    expect(cookieOf(readConfig(path))).toBe('inline');
  });

  it('a missing cookieFile is ERR_CONFIG naming node.cookieFile and the path', () => {
    const path = join(dir, 'node.json');
    writeFileSync(path, JSON.stringify({ node: { name: 'a@127.0.0.1', cookieFile: 'nope.txt' } }));
    const c = readConfig(path);
    let thrown: unknown;
    try {
      cookieOf(c);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(CliError);
    expect((thrown as CliError).code).toBe('ERR_CONFIG');
    expect((thrown as CliError).message).toContain('node.cookieFile');
    expect((thrown as CliError).message).toContain(join(dir, 'nope.txt'));
  });

  it('a cookieFile holding only whitespace is ERR_CONFIG naming node.cookieFile', () => {
    writeFileSync(join(dir, 'cookie'), ' \n\t\n');
    const path = join(dir, 'node.json');
    writeFileSync(path, JSON.stringify({ node: { name: 'a@127.0.0.1', cookieFile: 'cookie' } }));
    const c = readConfig(path);
    expect(() => cookieOf(c)).toThrowError(expect.objectContaining({ code: 'ERR_CONFIG', message: expect.stringContaining('node.cookieFile') }));
  });
});

describe('node.tls and the pre-authentication limits', () => {
  let dir = '';
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'rigil-tls-config-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  const tls = { cert: 'tls/c.pem', key: 'tls/k.pem', ca: 'tls/ca.pem' };

  it('accepts node.tls and the limits, and rejects bad values naming the key', () => {
    const c = checkConfig(withEdit((x) => Object.assign(x.node, { tls, seeds: ['b@127.0.0.1:9102'], maxFrameSize: 1 << 20, handshakeFrameSize: 4096, maxHandshakes: 64, handshakeTimeout: 5000 })), DIR);
    expect(c.node.tls).toEqual(tls);
    expect(c.node.maxHandshakes).toBe(64);
    const cases: Array<[(x: Record<string, any>) => void, string]> = [
      [(x) => (x.node.tls = 'yes'), 'node.tls'],
      [(x) => (x.node.tls = { key: 'k' }), 'node.tls.cert'],
      [(x) => (x.node.tls = { cert: 'c' }), 'node.tls.key'],
      [(x) => (x.node.tls = { ...tls, ca: [1] }), 'node.tls.ca'],
      [(x) => (x.node.tls = { ...tls, requireClientCert: 'no' }), 'node.tls.requireClientCert'],
      [(x) => (x.node.tls = { ...tls, allowPlainSeeds: 1 }), 'node.tls.allowPlainSeeds'],
      [(x) => (x.node.tls = { ...tls, certificate: 'c' }), 'node.tls.certificate'],
      [(x) => (x.node.maxFrameSize = 100), 'node.maxFrameSize'],
      [(x) => (x.node.handshakeFrameSize = 'big'), 'node.handshakeFrameSize'],
      [(x) => (x.node.maxHandshakes = 0), 'node.maxHandshakes'],
      [(x) => (x.node.handshakeTimeout = 1.5), 'node.handshakeTimeout'],
      [(x) => (x.node.metrics = 9100), 'node.metrics'],
      [(x) => (x.node.metrics = { port: -1 }), 'node.metrics.port'],
      [(x) => (x.node.metrics = {}), 'node.metrics.port'],
      [(x) => (x.node.metrics = { port: 9100, host: '0.0.0.0' }), 'node.metrics.host'],
    ];
    for (const [edit, key] of cases) expect(configError(withEdit(edit)).message).toContain(key);
  });

  it('node.metrics is off by default and takes a port', () => {
    expect(checkConfig(good(), DIR).node.metrics).toBeUndefined();
    expect(checkConfig(withEdit((x) => (x.node.metrics = { port: 0 })), DIR).node.metrics).toEqual({ port: 0 });
  });

  it('a TLS node refuses plain ws:// seeds unless node.tls.allowPlainSeeds', () => {
    // good() has the seed ws://10.0.0.2:9100 at index 1.
    expect(configError(withEdit((x) => (x.node.tls = tls))).message).toContain('node.seeds[1]');
    expect(checkConfig(withEdit((x) => (x.node.tls = { ...tls, allowPlainSeeds: true })), DIR).node.tls?.allowPlainSeeds).toBe(true);
  });

  it('tlsOf reads the files relative to the config, requires client certificates by default and names a missing file', () => {
    mkdirSync(join(dir, 'tls'));
    writeFileSync(join(dir, 'tls', 'c.pem'), 'CERT');
    writeFileSync(join(dir, 'tls', 'k.pem'), 'KEY');
    writeFileSync(join(dir, 'tls', 'ca.pem'), 'CA');
    const path = join(dir, 'node.json');
    writeFileSync(path, JSON.stringify({ node: { name: 'a@127.0.0.1', cookie: 'x'.repeat(16), tls } }));
    expect(tlsOf(readConfig(path))).toEqual({ cert: 'CERT', key: 'KEY', ca: 'CA', requireClientCert: true, allowPlain: false });
    writeFileSync(path, JSON.stringify({ node: { name: 'a@127.0.0.1', cookie: 'x'.repeat(16), tls: { ...tls, requireClientCert: false, allowPlainSeeds: true } } }));
    expect(tlsOf(readConfig(path))).toMatchObject({ requireClientCert: false, allowPlain: true });
    writeFileSync(path, JSON.stringify({ node: { name: 'a@127.0.0.1', cookie: 'x'.repeat(16), tls: { ...tls, key: 'tls/missing.pem' } } }));
    expect(() => tlsOf(readConfig(path))).toThrowError(expect.objectContaining({ code: 'ERR_CONFIG', message: expect.stringContaining('node.tls.key') }));
    expect(tlsOf(checkConfig({ node: { name: 'a@h', cookie: 'c' } }, dir))).toBeUndefined();
  });

  it('cookieWarning warns about cookies shorter than 16 characters only', () => {
    expect(cookieWarning('short')).toMatch(/5 characters/);
    expect(cookieWarning('x'.repeat(MIN_COOKIE_LENGTH - 1))).toBeDefined();
    expect(cookieWarning('x'.repeat(MIN_COOKIE_LENGTH))).toBeUndefined();
  });
});
