export { discover, discoverOne, discoverStream, type Server } from './client/discover.js';
export type { DiscoverOptions } from './client/options.js';
export {
  BeckonError,
  type BeckonErrorCode,
  BindError,
  InvalidOptionError,
  isBeckonError,
  SocketError,
} from './errors.js';
export {
  type AttachOptions,
  attachDiscovery,
  type DiscoveryHandle,
  type DiscoveryState,
} from './integrations/http.js';
export { detectTestRun } from './integrations/test-run.js';
export type { Logger } from './logger.js';
export {
  type InterfaceProvider,
  listInterfaces,
  type NetworkInterface,
} from './network/interfaces.js';
export type { SocketFactory } from './network/socket.js';
export type { ServerMetadata } from './protocol/extended.js';
export {
  DEFAULT_HTTP_PORT,
  DEFAULT_MESSAGE,
  DEFAULT_PREFIX,
  encodeReply,
  encodeRequest,
  isRequest,
  type PlainReply,
  parsePlainReply,
} from './protocol/plain.js';
export type { ResponderOptions, ResponderSettings } from './responder/options.js';
export {
  createResponder,
  type DropEvent,
  type DropReason,
  type ReplyEvent,
  type Responder,
  type ResponderEvents,
} from './responder/responder.js';
export { generateKey } from './security/keys.js';
