/**
 * The log writer (`setLogWriter`): the lines of the enabled `rigil:*` namespaces, with their
 * namespace, the message without it, and the report a line was written for (issue 16: the
 * rigil command writes reports itself and drops their debug lines, so none is logged twice).
 */
import createDebug from 'debug';
import { afterEach, describe, expect, it } from 'vitest';
import { logger, Node, setLogWriter, type LogLineInfo } from '../src/index.js';

const previous = createDebug.disable();

afterEach(() => {
  setLogWriter(undefined);
  createDebug.enable(previous);
});

describe('setLogWriter', () => {
  it('passes each enabled line with its namespace and message, and the report for a report', () => {
    createDebug.enable('rigil:logtest,rigil:logreport');
    const got: Array<[string, LogLineInfo]> = [];
    setLogWriter((line, info) => got.push([line, info]));
    logger('logtest')('hello %d', 42);
    const node = new Node({ name: 'logger@127.0.0.1' });
    node.report({ kind: 'logreport', message: 'something happened', code: 'X' });
    node.report({ kind: 'not_enabled', message: 'silent' });
    expect(got).toHaveLength(2);
    expect(got[0]![0]).toBe('rigil:logtest hello 42');
    expect(got[0]![1]).toEqual({ namespace: 'rigil:logtest', message: 'hello 42' });
    expect(got[1]![1]).toMatchObject({ namespace: 'rigil:logreport', message: '[logger@127.0.0.1] something happened', report: { kind: 'logreport', node: 'logger@127.0.0.1', code: 'X' } });
    // After the report, plain lines carry no report again.
    logger('logtest')('after');
    expect(got[2]![1]).toEqual({ namespace: 'rigil:logtest', message: 'after' });
  });
});
