/**
 * The worker thread of `worker: true` (see worker.ts): runs an ordinary responder and relays
 * its events, logs and bind errors to the thread that started it.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { BindError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { DropEvent, ReplyEvent } from './events.js';
import { createResponder } from './responder.js';
import type { FromWorker, ToWorker, WorkerData } from './worker.js';

const parent = parentPort;
if (parent === null) throw new Error('worker-entry.ts runs only as a worker thread');
const post = (message: FromWorker) => parent.postMessage(message);
const { options, observe } = workerData as WorkerData;

const log =
  (level: keyof Logger) =>
  (message: string): void =>
    post({ type: 'log', level, message });
const logger: Logger = {
  debug: log('debug'),
  info: log('info'),
  warn: log('warn'),
  error: log('error'),
};

const responder = createResponder({ ...options, logger });
responder.on('listening', ({ address, port }) => post({ type: 'listening', address, port }));
responder.on('role', ({ role, port }) => post({ type: 'role', role, port }));
responder.on('registry', (event) => post({ type: 'registry', event }));
responder.on('warning', (error) =>
  post({ type: 'warning', code: error.code, message: error.message }),
);

// Each relayed event costs a message, so they are relayed only while someone listens.
const onReply = (event: ReplyEvent) => post({ type: 'reply', event });
const onDrop = (event: DropEvent) => post({ type: 'drop', event });
function observeEvents(on: boolean): void {
  responder.off('reply', onReply).off('drop', onDrop);
  if (on) responder.on('reply', onReply).on('drop', onDrop);
}
observeEvents(observe);

parent.on('message', (message: ToWorker) => {
  if (message.type === 'observe') observeEvents(message.on);
  else if (message.type === 'stop') {
    void responder.stop().then(() => {
      post({ type: 'stopped' });
      parent.close();
    });
  }
});

try {
  await responder.start();
} catch (error) {
  if (!(error instanceof BindError)) throw error;
  const cause = error.cause as NodeJS.ErrnoException | undefined;
  post({
    type: 'start-failed',
    port: error.port,
    address: error.address,
    message: cause?.message ?? error.message,
    ...(cause?.code === undefined ? {} : { code: cause.code }),
  });
}
