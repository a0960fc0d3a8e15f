export type { ServerAddress, Via } from './client/addresses.js';
export { discover, discoverOne, discoverStream, type Server, watch } from './client/discover.js';
export type { DiscoverOptions } from './client/options.js';
export type { DownReason, WatchEvent } from './client/server.js';
export {
  DISCOVER_CHANNEL,
  type ReplyOutcome,
  type TraceBase,
  type TraceEvent,
  type TraceFields,
} from './client/trace.js';
export type {
  WatchedServer,
  Watcher,
  WatcherEvents,
  WatchOptions,
} from './client/watch.js';
export type { Clock } from './clock.js';
export {
  type DoctorOptions,
  type DoctorReport,
  type EnvironmentReport,
  type Finding,
  type PortReport,
  runDoctor,
} from './diagnostics/doctor.js';
export type { FirewallReport, FirewallVerdict } from './diagnostics/firewall/index.js';
export type { AddressReport, InterfaceReport } from './diagnostics/inventory.js';
export type { IPv6AddressReport, LinkIPv6Report } from './diagnostics/inventory6.js';
export type { AddrGenMode, BridgeMulticast, HostIPv6State } from './diagnostics/ipv6-facts.js';
export type { BoundSocket, PortHolder } from './diagnostics/port-owner.js';
export type { RegistryReport } from './diagnostics/registry-check.js';
export { detectSegmentedNetwork, type SegmentedNetwork } from './diagnostics/segmented.js';
export type { SelfTestReport, SelfTestResult } from './diagnostics/self-test.js';
export {
  BeckonError,
  type BeckonErrorCode,
  BindError,
  InvalidOptionError,
  isBeckonError,
  RegistryError,
  SocketError,
} from './errors.js';
export type {
  HostChannelListener,
  HostChannelStream,
  HostChannelTransport,
} from './host/transport.js';
export {
  type AttachOptions,
  attachDiscovery,
  type DiscoveryHandle,
  type DiscoveryState,
} from './integrations/http.js';
export { detectTestRun } from './integrations/test-run.js';
export type { Logger } from './logger.js';
export { classifyInterface, type InterfaceClass } from './network/classify.js';
export {
  type InterfaceProvider,
  listInterfaces,
  type NetworkInterface,
} from './network/interfaces.js';
export type {
  IPv6InterfaceAddress,
  IPv6InterfaceProvider,
} from './network/interfaces6.js';
export { type HttpRequestTarget, httpRequestTarget } from './network/ipv6.js';
export type { LinkFacts } from './network/link-facts.js';
export type { SkipReason } from './network/select.js';
export type { SocketFactory } from './network/socket.js';
export type { ServerMetadata } from './protocol/extended.js';
export {
  DEFAULT_DISCOVERY_PORT,
  DEFAULT_HTTP_PORT,
  DEFAULT_MESSAGE,
  DEFAULT_PREFIX,
  encodeReply,
  encodeRequest,
  isRequest,
  type PlainReply,
  parsePlainReply,
} from './protocol/plain.js';
export type {
  RegistryObjectOption,
  RegistryOption,
  RegistryTlsOption,
} from './registry/config.js';
export {
  type DropEvent,
  type DropReason,
  RESPONDER_CHANNEL,
  type ReplyEvent,
  type Responder,
  type ResponderEvents,
} from './responder/events.js';
export type { HostRole } from './responder/host-share.js';
export type {
  ResponderFamily,
  ResponderOptions,
  ResponderSettings,
} from './responder/options.js';
export type { PublisherState as RegistrationState } from './responder/registry-publisher.js';
export { createResponder } from './responder/responder.js';
export { generateKey } from './security/keys.js';
