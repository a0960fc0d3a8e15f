/**
 * An interface pattern that matches no interface is a typo or a missing interface: discovery
 * says so (a warning for include patterns, a trace event for both kinds) instead of going quiet.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { discover } from '../../src/client/discover.js';
import type { TraceEvent } from '../../src/client/trace.js';
import type { Logger } from '../../src/logger.js';
import { describeAddress } from '../../src/network/interfaces.js';
import { freeUdpPort } from '../helpers/udp.js';

/** This host as discovery sees it: only loopback, so every send stays on this machine. */
const onlyLoopback = () => [describeAddress('lo', '127.0.0.1', 8, true, {}, true)];

function recorder() {
  const warnings: string[] = [];
  const events: TraceEvent[] = [];
  const logger: Logger = {
    debug: () => {},
    info: () => {},
    warn: (message) => warnings.push(message),
    error: (message) => warnings.push(`error: ${message}`),
  };
  return { warnings, events, logger, trace: (event: TraceEvent) => events.push(event) };
}

const unmatched = (events: readonly TraceEvent[]) =>
  events.flatMap((e) => (e.type === 'unmatched-pattern' ? [[e.option, e.pattern]] : []));

describe('interface patterns that match nothing', () => {
  it('warns about an include pattern, traces both kinds, and still uses the patterns that match', async () => {
    const seen = recorder();
    const servers = await discover({
      env: {},
      port: await freeUdpPort(),
      timeout: 300,
      retries: 0,
      interfaces: ['lo', 'eht0'],
      exclude: ['tun*'],
      interfaceProvider: onlyLoopback,
      interfaceProvider6: () => [],
      logger: seen.logger,
      trace: seen.trace,
    });
    assert.deepEqual(servers, []);
    assert.deepEqual(seen.warnings, [
      'Interface pattern "eht0" matches no interface that is up (interfaces: lo 127.0.0.1/8)',
    ]);
    assert.deepEqual(unmatched(seen.events), [
      ['interfaces', 'eht0'],
      ['exclude', 'tun*'],
    ]);
    // lo was still used: the typo did not stop discovery on the interface that was named right.
    assert.ok(seen.events.some((e) => e.type === 'send' && e.channel === 'lo'));
  });

  it('says which interfaces were skipped when nothing is left to send to', async () => {
    const seen = recorder();
    await discover({
      env: {},
      port: await freeUdpPort(),
      timeout: 300,
      interfaces: ['nope'],
      interfaceProvider: onlyLoopback,
      interfaceProvider6: () => [],
      logger: seen.logger,
      trace: seen.trace,
    });
    assert.deepEqual(seen.warnings, [
      'Interface pattern "nope" matches no interface that is up (interfaces: lo 127.0.0.1/8)',
      'Nothing to send to: no interface is usable (lo 127.0.0.1: no include pattern matches it), and no targets given',
    ]);
    assert.deepEqual(unmatched(seen.events), [['interfaces', 'nope']]);
  });

  it('is quiet when every pattern matches', async () => {
    const seen = recorder();
    await discover({
      env: {},
      port: await freeUdpPort(),
      timeout: 200,
      retries: 0,
      interfaces: ['l?', '127.0.0.0/8'],
      exclude: [],
      interfaceProvider: onlyLoopback,
      interfaceProvider6: () => [],
      logger: seen.logger,
      trace: seen.trace,
    });
    assert.deepEqual(seen.warnings, []);
    assert.deepEqual(unmatched(seen.events), []);
  });

  it('warns once per logger when discover() is called again, and traces every run', async () => {
    const seen = recorder();
    const options = {
      env: {},
      port: await freeUdpPort(),
      timeout: 200,
      retries: 0,
      interfaces: ['lo', 'eht1'],
      interfaceProvider: onlyLoopback,
      interfaceProvider6: () => [],
      logger: seen.logger,
      trace: seen.trace,
    };
    await discover(options);
    await discover(options);
    assert.deepEqual(seen.warnings, [
      'Interface pattern "eht1" matches no interface that is up (interfaces: lo 127.0.0.1/8)',
    ]);
    assert.deepEqual(unmatched(seen.events), [
      ['interfaces', 'eht1'],
      ['interfaces', 'eht1'],
    ]);
  });
});
